// One background thread that runs queued tasks in order: the output's HDF5 writes, so they
// overlap the solver's steps. The queue is bounded — at most `max_heavy` heavy tasks
// (snapshots) in flight, queued or running, and at most `max_tasks` tasks in all — and
// post() blocks the caller while it is full, so memory stays bounded.
//
// The first exception a task throws is kept; later tasks are dropped and every following
// post(), drain() or stop() rethrows it, so an error on the writer thread surfaces in the
// caller's next call.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace synfield {

class WriterThread {
 public:
  // `on_start` runs first on the new thread (e.g. to set thread-local library state).
  explicit WriterThread(std::size_t max_heavy = 2, std::size_t max_tasks = 256,
                        std::function<void()> on_start = {})
      : max_heavy_(max_heavy < 1 ? 1 : max_heavy), max_tasks_(max_tasks < 1 ? 1 : max_tasks) {
    thread_ = std::thread([this, on_start = std::move(on_start)] {
      if (on_start) on_start();
      loop();
    });
  }
  ~WriterThread() { stop_nothrow(); }
  WriterThread(const WriterThread&) = delete;
  WriterThread& operator=(const WriterThread&) = delete;

  // Queues `task`; blocks while the queue is full. Rethrows an earlier task's error.
  void post(std::function<void()> task, bool heavy = false) {
    std::unique_lock<std::mutex> lock(m_);
    space_.wait(lock, [&] {
      return error_ || stopping_ ||
             (queue_.size() < max_tasks_ && (!heavy || heavy_in_flight_ < max_heavy_));
    });
    rethrow_locked();
    if (stopping_) throw std::logic_error("WriterThread::post after stop");
    queue_.push_back({std::move(task), heavy});
    if (heavy) ++heavy_in_flight_;
    work_.notify_one();
  }

  // Waits until every queued task has run. Rethrows a task's error.
  void drain() {
    std::unique_lock<std::mutex> lock(m_);
    idle_.wait(lock, [&] { return error_ || (queue_.empty() && !busy_); });
    rethrow_locked();
  }

  // Runs what is queued, then ends the thread. Rethrows a task's error (once stopped).
  void stop() {
    stop_nothrow();
    std::lock_guard<std::mutex> lock(m_);
    rethrow_locked();
  }

  // As stop(), keeping any error for error().
  void stop_nothrow() noexcept {
    {
      std::lock_guard<std::mutex> lock(m_);
      if (!thread_.joinable()) return;
      stopping_ = true;
    }
    work_.notify_all();
    thread_.join();
  }

  std::exception_ptr error() const {
    std::lock_guard<std::mutex> lock(m_);
    return error_;
  }

 private:
  struct Task {
    std::function<void()> run;
    bool heavy;
  };

  void rethrow_locked() const {
    if (error_) std::rethrow_exception(error_);
  }

  void loop() {
    std::unique_lock<std::mutex> lock(m_);
    for (;;) {
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, and nothing left
      Task t = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
      if (!error_) {
        lock.unlock();
        std::exception_ptr e;
        try {
          t.run();
        } catch (...) {
          e = std::current_exception();
        }
        t.run = nullptr;  // free the task's data before the slot is given back
        lock.lock();
        if (e && !error_) error_ = e;
      }
      busy_ = false;
      if (t.heavy) --heavy_in_flight_;
      space_.notify_all();
      if (queue_.empty() || error_) idle_.notify_all();
    }
    idle_.notify_all();
  }

  const std::size_t max_heavy_, max_tasks_;
  mutable std::mutex m_;
  std::condition_variable work_, space_, idle_;
  std::deque<Task> queue_;
  std::size_t heavy_in_flight_ = 0;
  bool busy_ = false, stopping_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: started once the members above exist
};

}  // namespace synfield
