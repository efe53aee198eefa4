//! The report as one self-contained HTML page, from its Markdown.

use std::fmt::Write as _;
use std::path::Path;

/// The report as one self-contained HTML page: a table of contents from the headings, tables,
/// code blocks and every figure's SVG inlined (no file, script or network resource), each figure
/// captioned by its alt text.
pub(super) fn html(markdown: &str, dir: &Path) -> Result<String, String> {
    let escape = strata_plot::escape;
    let mut body = String::new();
    let mut contents = String::new();
    let mut lines = markdown.lines().peekable();
    let mut section = 0;
    while let Some(line) = lines.next() {
        if let Some(title) = line.strip_prefix("## ") {
            section += 1;
            let _ = writeln!(contents, "<li><a href=\"#s{section}\">{}</a></li>", escape(title));
            let _ = writeln!(body, "<h2 id=\"s{section}\">{}</h2>", escape(title));
        } else if let Some(title) = line.strip_prefix("# ") {
            // The first heading is the page's title, followed by the contents; later ones
            // (the parts) head their sections and are listed in the contents too.
            if body.is_empty() {
                let _ = writeln!(body, "<h1>{}</h1>\n<nav><h2>Contents</h2><ul>{{CONTENTS}}</ul></nav>", escape(title));
            } else {
                section += 1;
                let _ = writeln!(contents, "<li class=\"part\"><a href=\"#s{section}\">{}</a></li>", escape(title));
                let _ = writeln!(body, "<h1 id=\"s{section}\">{}</h1>", escape(title));
            }
        } else if line.starts_with("```") {
            let mut code = String::new();
            for inner in lines.by_ref() {
                if inner.starts_with("```") {
                    break;
                }
                code.push_str(inner);
                code.push('\n');
            }
            let _ = writeln!(body, "<pre>{}</pre>", escape(&code));
        } else if let Some(rest) = line.strip_prefix("![") {
            let (alt, file) = rest.split_once("](").ok_or_else(|| format!("a malformed figure: {line}"))?;
            let file = file.trim_end_matches(')');
            let svg = std::fs::read_to_string(dir.join(file)).map_err(|e| format!("cannot read {file}: {e}"))?;
            let _ = writeln!(body, "<figure>{svg}<figcaption>{}</figcaption></figure>", escape(alt));
        } else if line.starts_with('|') {
            let mut rows = vec![line];
            while lines.peek().is_some_and(|l| l.starts_with('|')) {
                rows.push(lines.next().expect("peeked"));
            }
            body.push_str("<table>\n");
            for (r, row) in rows.iter().enumerate() {
                if r == 1 && row.contains("---") {
                    continue;
                }
                let tag = if r == 0 { "th" } else { "td" };
                body.push_str("<tr>");
                for cell in row.trim().trim_matches('|').split('|') {
                    let _ = write!(body, "<{tag}>{}</{tag}>", escape(cell.trim()));
                }
                body.push_str("</tr>\n");
            }
            body.push_str("</table>\n");
        } else if !line.trim().is_empty() {
            // `**bold**` spans; code marks dropped.
            let mut text = String::new();
            for (k, piece) in escape(line).replace('`', "").split("**").enumerate() {
                if k > 0 {
                    text.push_str(if k % 2 == 1 { "<strong>" } else { "</strong>" });
                }
                text.push_str(piece);
            }
            if text.matches("<strong>").count() > text.matches("</strong>").count() {
                text.push_str("</strong>");
            }
            let _ = writeln!(body, "<p>{text}</p>");
        }
    }
    let body = body.replace("{CONTENTS}", &contents);
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>strata demo report</title>\n<style>\n\
         body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; line-height: 1.45; }}\n\
         table {{ border-collapse: collapse; margin: 1em 0; }} td, th {{ border: 1px solid #ccc; padding: 0.2em 0.6em; }}\n\
         pre {{ background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }}\n\
         nav ul {{ list-style: none; padding-left: 1em; }} li.part {{ font-weight: bold; margin-top: 0.5em; }}\n\
         figure {{ margin: 1.5em 0; }} figcaption {{ font-style: italic; color: #555; }} svg {{ max-width: 100%; height: auto; }}\n\
         </style>\n</head>\n<body>\n{body}<p>Contains public sector information licensed under the Open Government Licence v3.0.</p>\n</body>\n</html>\n"
    ))
}
