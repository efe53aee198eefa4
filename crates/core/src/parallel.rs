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
    let done: Vec<Vec<(usize, T)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.min(count))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if k >= count {
                            break mine;
                        }
                        mine.push((k, task(k)));
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a task does not panic")).collect()
    });
    let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
    for (k, result) in done.into_iter().flatten() {
        results[k] = Some(result);
    }
    results.into_iter().map(|r| r.expect("every task ran")).collect()
}
