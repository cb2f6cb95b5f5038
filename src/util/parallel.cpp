#include "slate/util/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace slate::util {

unsigned parallel_workers(std::size_t count, unsigned workers) {
    if (workers == 0) workers = std::max(1u, std::thread::hardware_concurrency());
    return static_cast<unsigned>(std::max<std::size_t>(1, std::min<std::size_t>(workers, count)));
}

void parallel_for(std::size_t count, unsigned workers, const std::function<void(std::size_t, unsigned)>& fn) {
    std::atomic<std::size_t> next{0};
    std::exception_ptr failure;
    std::mutex failure_mutex;
    auto worker = [&](unsigned index) {
        for (;;) {
            std::size_t i = next.fetch_add(1);
            if (i >= count) return;
            try {
                fn(i, index);
            } catch (...) {
                std::lock_guard lock(failure_mutex);
                if (!failure) failure = std::current_exception();
                next = count;  // stop the others
            }
        }
    };
    const unsigned n = parallel_workers(count, workers);
    std::vector<std::thread> threads;
    for (unsigned t = 1; t < n; ++t) threads.emplace_back(worker, t);
    worker(0);
    for (auto& t : threads) t.join();
    if (failure) std::rethrow_exception(failure);
}

}  // namespace slate::util
