# R's side of benches/compare_with_r.sh: times each fit on the CSV files written by
# `cargo bench --bench side_by_side -- generate DIR`, median of three runs, fit only.
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]
only <- if (length(args) > 1) args[2] else NA
wanted <- function(name) is.na(only) || only == name
median_time <- function(expr) {
  f <- substitute(expr)
  times <- sapply(1:3, function(i) system.time(eval(f, parent.frame(3)))[["elapsed"]])
  median(times)
}
x <- paste0("x", 1:10, collapse = " + ")
if (wanted("glm")) {
  d <- read.csv(file.path(dir, "glm.csv"))
  form <- as.formula(paste("y ~", x, "+ offset(log(population))"))
  cat("glm", median_time(glm(form, family = poisson, data = d)), "\n")
}
if ((wanted("cox") || wanted("km")) && requireNamespace("survival", quietly = TRUE)) {
  library(survival)
  d <- read.csv(file.path(dir, "cox.csv"))
  if (wanted("cox")) cat("cox", median_time(coxph(as.formula(paste("Surv(time, status) ~", x)), data = d, ties = "efron")), "\n")
  if (wanted("km")) cat("km", median_time(survfit(Surv(time, status) ~ 1, data = d)), "\n")
}
if ((wanted("lmm") || wanted("schools") || wanted("slopes") || wanted("glmm")) && requireNamespace("lme4", quietly = TRUE)) {
  library(lme4)
  if (wanted("slopes")) {
    d <- read.csv(file.path(dir, "slopes.csv"))
    cat("slopes", median_time(lmer(y ~ x + (1 + x | area) + (1 | la), data = d)), "\n")
  }
  if (wanted("lmm")) {
    d <- read.csv(file.path(dir, "crossed.csv"))
    cat("lmm", median_time(lmer(y ~ 1 + (1 | student) + (1 | lecturer) + (1 | department), data = d)), "\n")
  }
  if (wanted("schools")) {
    d <- read.csv(file.path(dir, "schools.csv"))
    cat("schools", median_time(lmer(y ~ x + (1 | lsoa) + (1 | school), data = d)), "\n")
  }
  if (wanted("glmm")) {
    d <- read.csv(file.path(dir, "binomial.csv"))
    cat("glmm", median_time(glmer(y ~ deprivation + (1 | la) + (1 | area), family = binomial, data = d)), "\n")
  }
}
if (wanted("msm") && requireNamespace("msm", quietly = TRUE)) {
  library(msm)
  d <- read.csv(file.path(dir, "msm.csv"))
  Q <- rbind(c(0, 0.1, 0, 0), c(0.1, 0, 0.1, 0), c(0, 0.1, 0, 0.1), c(0, 0, 0, 0))
  # fnscale keeps optim away from overflow with 20,000 subjects (msm's own advice).
  cat("msm", median_time(msm(state ~ months, subject = id, data = d, qmatrix = Q, control = list(fnscale = 1e5))), "\n")
}
