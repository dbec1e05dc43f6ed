// An in-process stand-in for MPI: R threads of one test, each with a ThreadComm of the
// same ThreadWorld, run the collectives of include/synfield/comm.h against each other
// (posted buffers and a barrier). Sums add the ranks' values in rank order, so every rank
// gets the same result, as an MPI reduction does. run_ranks(R, fn) runs fn(comm) on R
// threads and rethrows the first exception; ranks that disagree on their collective calls
// abort after 60 s instead of hanging.
#pragma once

#include <synfield/comm.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace synfield::test {

class ThreadWorld {
 public:
  explicit ThreadWorld(int n) : n_(n), posted_(n) {}
  int size() const { return n_; }

  void barrier() {
    std::unique_lock<std::mutex> lock(m_);
    const long gen = generation_;
    if (++waiting_ == n_) {
      waiting_ = 0;
      ++generation_;
      cv_.notify_all();
    } else if (!cv_.wait_for(lock, std::chrono::seconds(60), [&] { return generation_ != gen; })) {
      // the ranks made different collective calls (a bug in the split code): fail, not hang
      std::fprintf(stderr, "ThreadComm: a rank waited 60 s at a collective: the ranks' calls differ\n");
      std::abort();
    }
  }
  // Posts rank r's buffer, waits for every rank's, runs read(posted) and waits again (so
  // no rank reuses its buffer while another still reads it).
  template <class Read>
  void exchange(int r, const void* mine, Read&& read) {
    posted_[r] = mine;
    barrier();
    read(posted_);
    barrier();
  }

 private:
  int n_;
  std::vector<const void*> posted_;
  std::mutex m_;
  std::condition_variable cv_;
  int waiting_ = 0;
  long generation_ = 0;
};

class ThreadComm final : public Comm {
 public:
  ThreadComm(ThreadWorld& w, int rank) : w_(w), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return w_.size(); }
  int local_rank() const override { return rank_; }
  int local_size() const override { return size(); }
  void sum(double* v, long n) const override { add(v, n); }
  void sum(float* v, long n) const override { add(v, n); }
  int max(int v) const override {
    int m = v;
    w_.exchange(rank_, &v, [&](const std::vector<const void*>& p) {
      for (const void* q : p) m = std::max(m, *static_cast<const int*>(q));
    });
    return m;
  }
  void shift(const void* send, void* recv, long bytes, int /*to*/, int from) const override {
    // each rank reads what its `from` posted (the ranks' `to`s mirror their `from`s)
    w_.exchange(rank_, send, [&](const std::vector<const void*>& p) {
      if (from >= 0) std::memcpy(recv, p[from], bytes);
    });
  }
  void gather_all(const void* send, void* recv, const std::vector<long>& bytes_of) const override {
    w_.exchange(rank_, send, [&](const std::vector<const void*>& p) { concat(p, recv, bytes_of); });
  }
  void gather(const void* send, void* recv, const std::vector<long>& bytes_of) const override {
    w_.exchange(rank_, send, [&](const std::vector<const void*>& p) {
      if (rank_ == 0) concat(p, recv, bytes_of);
    });
  }
  [[noreturn]] void abort(int code) const override { std::exit(code); }

 private:
  static void concat(const std::vector<const void*>& p, void* recv, const std::vector<long>& bytes_of) {
    char* out = static_cast<char*>(recv);
    for (std::size_t r = 0; r < p.size(); ++r) {
      std::memcpy(out, p[r], bytes_of[r]);
      out += bytes_of[r];
    }
  }
  template <class T>
  void add(T* v, long n) const {
    std::vector<T> total(n, T(0));
    w_.exchange(rank_, v, [&](const std::vector<const void*>& p) {
      for (const void* q : p)
        for (long i = 0; i < n; ++i) total[i] += static_cast<const T*>(q)[i];
    });
    std::copy(total.begin(), total.end(), v);
  }
  ThreadWorld& w_;
  int rank_;
};

// fn(comm) on `ranks` threads; the first exception thrown by any rank is rethrown here.
inline void run_ranks(int ranks, const std::function<void(const Comm&)>& fn) {
  ThreadWorld world(ranks);
  std::vector<std::exception_ptr> errors(ranks);
  std::vector<std::thread> threads;
  for (int r = 0; r < ranks; ++r)
    threads.emplace_back([&, r] {
      try {
        fn(ThreadComm(world, r));
      } catch (...) {
        errors[r] = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace synfield::test
