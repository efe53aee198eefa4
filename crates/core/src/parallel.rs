//! Work shared among threads with results that do not depend on how many there are: tasks are
//! numbered, each task's result is computed the same way on any thread, and results come back
//! in task order for the caller to combine in that order.

/// The number of threads set by [`set_threads`] (0: not set).
static CHOSEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Makes every later [`threads`] return `count` (0 goes back to the environment's choice): the
/// command line's `--threads`.
pub fn set_threads(count: usize) {
    CHOSEN.store(count, std::sync::atomic::Ordering::Relaxed);
}

/// The number of threads to use: the count given to [`set_threads`], else `STRATA_THREADS` if set
/// to a positive whole number, else the machine's available parallelism.
pub fn threads() -> usize {
    let chosen = CHOSEN.load(std::sync::atomic::Ordering::Relaxed);
    if chosen > 0 {
        return chosen;
    }
    std::env::var("STRATA_THREADS")
        .ok()
        .and_then(|t| t.trim().parse::<usize>().ok())
        .filter(|&t| t > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
}

/// `task(k)` for every `k` below `count` on up to `threads` threads, results in the order of
/// `k`. Threads take the next task as they finish one.
///
/// # Examples
/// ```
/// use strata_core::parallel::map_in_order;
/// let squares = map_in_order(5, 2, |k| k * k);
/// assert_eq!(squares, [0, 1, 4, 9, 16]);
/// ```
pub fn map_in_order<T: Send>(count: usize, threads: usize, task: impl Fn(usize) -> T + Sync) -> Vec<T> {
    if threads <= 1 || count <= 1 {
        return (0..count).map(task).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        let mut mine = Vec::new();
        loop {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if k >= count {
                break mine;
            }
            mine.push((k, task(k)));
        }
    };
    // The calling thread works too: a thread fewer to start (and to tear down) on every call.
    let done: Vec<Vec<(usize, T)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads.min(count)).map(|_| scope.spawn(work)).collect();
        let mut done = vec![work()];
        done.extend(handles.into_iter().map(|h| h.join().expect("a task does not panic")));
        done
    });
    let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
    for (k, result) in done.into_iter().flatten() {
        results[k] = Some(result);
    }
    results.into_iter().map(|r| r.expect("every task ran")).collect()
}

/// `task(item)` for every item on up to `threads` threads, as [`map_in_order`], the results in
/// the items' order: items may own things a task needs alone, such as parts of an output cut
/// beforehand with `split_at_mut`.
///
/// # Examples
/// ```
/// use strata_core::parallel::map_items_in_order;
/// let mut out = vec![0.0; 4];
/// let (left, right) = out.split_at_mut(1);
/// let lengths = map_items_in_order(vec![left, right], 2, |part| {
///     part.fill(1.0);
///     part.len()
/// });
/// assert_eq!((out, lengths), (vec![1.0; 4], vec![1, 3]));
/// ```
pub fn map_items_in_order<I: Send, T: Send>(items: Vec<I>, threads: usize, task: impl Fn(I) -> T + Sync) -> Vec<T> {
    let items: Vec<std::sync::Mutex<Option<I>>> = items.into_iter().map(|i| std::sync::Mutex::new(Some(i))).collect();
    map_in_order(items.len(), threads, |k| {
        task(items[k].lock().expect("a task does not panic").take().expect("each item is taken once"))
    })
}

/// Rows in a block of [`sum_blocks`]: fixed, so a sum's rounding does not depend on the threads.
pub const SUM_BLOCK: usize = 1 << 16;

/// The most memory that blocks' partial results (cross-products) may hold at once.
pub const PARTIAL_BYTES: usize = 64 << 20;

/// Rows `0..len` cut into blocks whose partial results are summed in order: [`SUM_BLOCK`] rows
/// each, or fewer, longer blocks when each block's partial result of `partial_bytes` would
/// together hold more than [`PARTIAL_BYTES`]. The cut depends on the data's shape alone, never on
/// the threads, so sums over the blocks are the same on any number of threads.
///
/// # Examples
/// ```
/// use strata_core::parallel::{row_blocks, SUM_BLOCK};
/// assert_eq!(row_blocks(10, 8), [0..10]);
/// assert_eq!(row_blocks(3 * SUM_BLOCK, 8).len(), 3);
/// assert_eq!(row_blocks(3 * SUM_BLOCK, 40 << 20).len(), 1);
/// ```
pub fn row_blocks(len: usize, partial_bytes: usize) -> Vec<std::ops::Range<usize>> {
    let blocks = len.div_ceil(SUM_BLOCK).min(PARTIAL_BYTES / partial_bytes.max(1)).max(1);
    let size = len.div_ceil(blocks).max(1);
    (0..blocks).map(|k| (k * size).min(len)..((k + 1) * size).min(len)).collect()
}

/// `Σ f(i)` for `i` below `len`: each block of [`SUM_BLOCK`] rows summed in order, on up to
/// `threads` threads, and the blocks' sums added in order, so the result is the same on any
/// number of threads.
///
/// # Examples
/// ```
/// use strata_core::parallel::sum_blocks;
/// let total = sum_blocks(1_000, 2, |i| i as f64);
/// assert_eq!(total, 499_500.0);
/// ```
pub fn sum_blocks(len: usize, threads: usize, f: impl Fn(usize) -> f64 + Sync) -> f64 {
    let blocks = len.div_ceil(SUM_BLOCK);
    map_in_order(blocks, threads, |b| (b * SUM_BLOCK..((b + 1) * SUM_BLOCK).min(len)).map(&f).sum::<f64>())
        .into_iter()
        .sum()
}

/// The first `i` below `len` for which `test(i)` holds: blocks of [`SUM_BLOCK`] rows searched on
/// up to `threads` threads.
///
/// # Examples
/// ```
/// use strata_core::parallel::find_first;
/// let values = [1.0, 2.0, f64::NAN, 4.0, f64::INFINITY];
/// assert_eq!(find_first(values.len(), 2, |i| !values[i].is_finite()), Some(2));
/// ```
pub fn find_first(len: usize, threads: usize, test: impl Fn(usize) -> bool + Sync) -> Option<usize> {
    let blocks = len.div_ceil(SUM_BLOCK);
    map_in_order(blocks, threads, |b| (b * SUM_BLOCK..((b + 1) * SUM_BLOCK).min(len)).find(|&i| test(i)))
        .into_iter()
        .flatten()
        .next()
}

/// Sets `out[i] = f(i)` for every `i`, the slice cut into one contiguous part per thread (up to
/// `threads`); each value is computed alone, so the result does not depend on the threads.
///
/// # Examples
/// ```
/// use strata_core::parallel::fill;
/// let mut squares = vec![0.0; 5];
/// fill(&mut squares, 2, |i| (i * i) as f64);
/// assert_eq!(squares, [0.0, 1.0, 4.0, 9.0, 16.0]);
/// ```
pub fn fill<T: Send>(out: &mut [T], threads: usize, f: impl Fn(usize) -> T + Sync) {
    for_each_part(out, threads, |start, part| {
        part.iter_mut().enumerate().for_each(|(i, o)| *o = f(start + i));
    });
}

/// `values` in `order` (`out[k] = values[order[k]]`), gathered on up to `threads` threads.
///
/// # Examples
/// ```
/// use strata_core::parallel::gather;
/// assert_eq!(gather(&[10, 20, 30], &[2, 0, 1], 2), [30, 10, 20]);
/// ```
pub fn gather<T: Copy + Default + Send + Sync>(values: &[T], order: &[usize], threads: usize) -> Vec<T> {
    let mut out = vec![T::default(); order.len()];
    fill(&mut out, threads, |k| values[order[k]]);
    out
}

/// Calls `f(start, part)` for contiguous parts of `out`, one a thread (up to `threads`, and no
/// part under [`SUM_BLOCK`] elements), `start` being the part's first index in `out`. What `f`
/// writes to an element must not depend on where the parts are cut.
pub fn for_each_part<T: Send>(out: &mut [T], threads: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    for_each_part_of_rows(out, 1, threads, f);
}

/// As [`for_each_part`] for `out` holding rows of `width` elements each (row-major): the parts
/// are cut between rows, and `f(first, part)` is given the index of the part's first row.
///
/// # Panics
/// If `width` is 0 or does not divide the length of `out`.
pub fn for_each_part_of_rows<T: Send>(out: &mut [T], width: usize, threads: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    assert!(width > 0 && out.len() % width == 0, "whole rows of {width}");
    let rows = out.len() / width;
    let threads = threads.clamp(1, (rows * width).div_ceil(SUM_BLOCK).max(1));
    if threads == 1 {
        f(0, out);
        return;
    }
    let part = rows.div_ceil(threads);
    std::thread::scope(|scope| {
        let mut chunks = out.chunks_mut(part * width).enumerate();
        let (_, first) = chunks.next().expect("at least one part");
        for (p, chunk) in chunks {
            let f = &f;
            scope.spawn(move || f(p * part, chunk));
        }
        // The calling thread takes the first part.
        f(0, first);
    });
}

/// Rows in a block of [`fill_columns_and_sum`]'s sum: smaller than [`SUM_BLOCK`], so that the
/// threads taking blocks in turn finish close together.
pub const FILL_BLOCK: usize = 1 << 13;

/// Sets `outs[k][i]` to the `k`-th value of `f(i)` for every `i` and returns the sum of the
/// scalars of `f(i)`, in one pass: blocks of [`FILL_BLOCK`] rows shared among up to `threads`
/// threads ([`map_blocks_mut`]), each block summed in order and the blocks' sums added in order.
/// Neither the arrays nor the sum depend on the threads.
///
/// # Panics
/// If the outputs differ in length.
///
/// # Examples
/// ```
/// use strata_core::parallel::fill_columns_and_sum;
/// let (mut squares, mut cubes) = (vec![0.0; 4], vec![0.0; 4]);
/// let total = fill_columns_and_sum([&mut squares, &mut cubes], 2, |i| {
///     let x = i as f64;
///     ([x * x, x * x * x], x)
/// });
/// assert_eq!((squares[3], cubes[3], total), (9.0, 27.0, 6.0));
/// ```
pub fn fill_columns_and_sum<const K: usize>(
    outs: [&mut [f64]; K],
    threads: usize,
    f: impl Fn(usize) -> ([f64; K], f64) + Sync,
) -> f64 {
    let len = outs.first().map_or(0, |o| o.len());
    map_blocks_mut(outs, len, FILL_BLOCK, threads, |rows, mut part| {
        rows.enumerate()
            .map(|(r, i)| {
                let (values, x) = f(i);
                for (out, v) in part.iter_mut().zip(values) {
                    out[r] = v;
                }
                x
            })
            .sum::<f64>()
    })
    .into_iter()
    .sum()
}

/// `f(rows, slices)` for consecutive blocks of `block` rows of `0..len` (the last may be
/// shorter), `slices` being those rows of each output, the results in block order. Up to
/// `threads` threads (none for fewer than [`SUM_BLOCK`] rows) take the next block as they finish
/// one, so a thread started late or slowed does not hold the others back; what a call sees and
/// the order of the results do not depend on the threads.
///
/// # Panics
/// If an output's length is not `len`, or `block` is 0.
///
/// # Examples
/// ```
/// use strata_core::parallel::map_blocks_mut;
/// let mut doubled = vec![0.0; 5];
/// let sums = map_blocks_mut([&mut doubled], 5, 2, 2, |rows, [part]| {
///     for (out, i) in part.iter_mut().zip(rows.clone()) {
///         *out = 2.0 * i as f64;
///     }
///     rows.len()
/// });
/// assert_eq!((doubled[4], sums), (8.0, vec![2, 2, 1]));
/// ```
pub fn map_blocks_mut<const K: usize, T: Send>(
    outs: [&mut [f64]; K],
    len: usize,
    block: usize,
    threads: usize,
    f: impl Fn(std::ops::Range<usize>, [&mut [f64]; K]) -> T + Sync,
) -> Vec<T> {
    assert!(block > 0, "blocks of at least one row");
    assert!(outs.iter().all(|o| o.len() == len), "outputs of length {len}");
    let threads = threads.clamp(1, len.div_ceil(SUM_BLOCK).max(1));
    let mut items = Vec::with_capacity(len.div_ceil(block));
    let (mut rest, mut start) = (outs, 0);
    while start < len {
        let size = block.min(len - start);
        let mut tails = Vec::with_capacity(K);
        let heads = rest.map(|o| {
            let (head, tail) = o.split_at_mut(size);
            tails.push(tail);
            head
        });
        items.push((start..start + size, heads));
        rest = tails.try_into().unwrap_or_else(|_| unreachable!("one tail an output"));
        start += size;
    }
    map_items_in_order(items, threads, |(rows, slices)| f(rows, slices))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums and fills over several blocks are the same, bit for bit, on one thread and on three.
    #[test]
    fn blocks_do_not_depend_on_threads() {
        let len = 3 * SUM_BLOCK + 17;
        let value = |i: usize| ((i * 7919) % 1013) as f64 / 7.0 + 1e-9 * i as f64;
        assert_eq!(sum_blocks(len, 1, value).to_bits(), sum_blocks(len, 3, value).to_bits());
        let (mut one, mut three) = (vec![0.0; len], vec![0.0; len]);
        fill(&mut one, 1, value);
        fill(&mut three, 3, value);
        assert_eq!(one, three);
        assert_eq!(one[len - 1], value(len - 1));
        let (mut a1, mut b1, mut a3, mut b3) = (vec![0.0; len], vec![0.0; len], vec![0.0; len], vec![0.0; len]);
        let pair = |i: usize| ([value(i), -value(i)], value(i));
        let (total1, total3) =
            (fill_columns_and_sum([&mut a1, &mut b1], 1, pair), fill_columns_and_sum([&mut a3, &mut b3], 3, pair));
        assert_eq!(total1.to_bits(), total3.to_bits());
        let blockwise: f64 = (0..len.div_ceil(FILL_BLOCK))
            .map(|b| (b * FILL_BLOCK..((b + 1) * FILL_BLOCK).min(len)).map(value).sum::<f64>())
            .sum();
        assert_eq!(total1.to_bits(), blockwise.to_bits());
        assert_eq!(b3[len - 1], -value(len - 1));
        assert_eq!((a1, b1), (a3, b3));
    }
}
