//! One piece of CPU-bound work over contiguous chunks of a slice, one scoped
//! thread per chunk, the results in chunk order (so they do not depend on
//! the number of threads).

/// `work` of every chunk, in order. The first chunk runs on the calling
/// thread; a chunk whose thread cannot be started runs there too. A panic
/// in a chunk is resumed on the calling thread. `stack`: the threads' stack
/// size, when the default will not do.
pub fn over_chunks<T: Sync, R: Send>(
    chunks: &[&[T]],
    name: &str,
    stack: Option<usize>,
    work: impl Fn(&[T]) -> R + Sync,
) -> Vec<R> {
    let Some((first, rest)) = chunks.split_first() else {
        return Vec::new();
    };
    let work = &work;
    std::thread::scope(|scope| {
        let spawned: Vec<_> = rest
            .iter()
            .map(|&chunk| {
                let mut builder = std::thread::Builder::new().name(name.to_string());
                if let Some(bytes) = stack {
                    builder = builder.stack_size(bytes);
                }
                builder
                    .spawn_scoped(scope, move || work(chunk))
                    .map_err(|_| chunk)
            })
            .collect();
        let mut results = vec![work(first)];
        for thread in spawned {
            results.push(match thread {
                Ok(handle) => handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(chunk) => work(chunk),
            });
        }
        results
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_chunk_order() {
        let items: Vec<u32> = (0..10).collect();
        let chunks: Vec<&[u32]> = items.chunks(3).collect();
        let sums = over_chunks(&chunks, "test", None, |chunk| chunk.iter().sum::<u32>());
        assert_eq!(sums, vec![3, 12, 21, 9]);
        assert!(over_chunks::<u32, u32>(&[], "test", None, |_| 0).is_empty());
    }
}
