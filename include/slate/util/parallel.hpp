#pragma once
// Running independent tasks on a few threads.

#include <cstddef>
#include <functional>

namespace slate::util {

// Calls fn(i, worker) for every i in [0, count) on up to `workers` threads
// (the calling thread is one of them; 0 means one per core). `worker` is the
// index of the thread running the task, in [0, workers), so a task can use
// per-thread resources (a connection, a buffer). The first exception stops the
// remaining tasks and is rethrown once every thread has finished.
void parallel_for(std::size_t count, unsigned workers, const std::function<void(std::size_t, unsigned)>& fn);

// The number of threads parallel_for uses for `count` tasks and `workers`.
unsigned parallel_workers(std::size_t count, unsigned workers);

}  // namespace slate::util
