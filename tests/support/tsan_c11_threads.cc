// Linked into the unit tests of the TSan build only (tests/CMakeLists.txt). librdkafka
// starts its threads with C11 thrd_create, which glibc implements without going through
// pthread_create, so ThreadSanitizer (gcc 12's and clang 16's alike) never sets up those
// threads and crashes in its allocator the first time one of them calls malloc. Defined
// here, in the executable, the C11 thread, mutex and condition functions take precedence
// over glibc's for librdkafka and go through pthread, which TSan intercepts: it then sees
// librdkafka's threads start and its locks order memory (glibc's mtx_t and cnd_t are
// pthread_mutex_t and pthread_cond_t, which is how glibc itself implements them).
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <threads.h>
#include <time.h>

namespace {

struct Start {
  thrd_start_t func;
  void* arg;
};

void* trampoline(void* p) {
  const Start start = *static_cast<Start*>(p);
  delete static_cast<Start*>(p);
  return reinterpret_cast<void*>(static_cast<intptr_t>(start.func(start.arg)));
}

}  // namespace

extern "C" int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  auto* start = new Start{func, arg};
  const int rc = pthread_create(thr, nullptr, &trampoline, start);
  if (rc == 0) return thrd_success;
  delete start;
  return rc == EAGAIN ? thrd_nomem : thrd_error;
}

extern "C" int thrd_join(thrd_t thr, int* res) {
  void* ret = nullptr;
  if (pthread_join(thr, &ret) != 0) return thrd_error;
  if (res != nullptr) *res = static_cast<int>(reinterpret_cast<intptr_t>(ret));
  return thrd_success;
}

extern "C" int thrd_detach(thrd_t thr) {
  return pthread_detach(thr) == 0 ? thrd_success : thrd_error;
}

extern "C" void thrd_exit(int res) {
  pthread_exit(reinterpret_cast<void*>(static_cast<intptr_t>(res)));
}

namespace {

pthread_mutex_t* native(mtx_t* m) { return reinterpret_cast<pthread_mutex_t*>(m); }
pthread_cond_t* native(cnd_t* c) { return reinterpret_cast<pthread_cond_t*>(c); }
int result(int rc) { return rc == 0 ? thrd_success : thrd_error; }

}  // namespace

static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t));
static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t));

extern "C" int mtx_init(mtx_t* m, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if ((type & mtx_recursive) != 0) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  const int rc = pthread_mutex_init(native(m), &attr);
  pthread_mutexattr_destroy(&attr);
  return result(rc);
}

extern "C" int mtx_lock(mtx_t* m) { return result(pthread_mutex_lock(native(m))); }

extern "C" int mtx_trylock(mtx_t* m) {
  const int rc = pthread_mutex_trylock(native(m));
  return rc == EBUSY ? thrd_busy : result(rc);
}

extern "C" int mtx_timedlock(mtx_t* __restrict m, const struct timespec* __restrict at) {
  const int rc = pthread_mutex_timedlock(native(m), at);
  return rc == ETIMEDOUT ? thrd_timedout : result(rc);
}

extern "C" int mtx_unlock(mtx_t* m) { return result(pthread_mutex_unlock(native(m))); }

extern "C" void mtx_destroy(mtx_t* m) { pthread_mutex_destroy(native(m)); }

extern "C" int cnd_init(cnd_t* c) { return result(pthread_cond_init(native(c), nullptr)); }

extern "C" int cnd_signal(cnd_t* c) { return result(pthread_cond_signal(native(c))); }

extern "C" int cnd_broadcast(cnd_t* c) { return result(pthread_cond_broadcast(native(c))); }

extern "C" int cnd_wait(cnd_t* c, mtx_t* m) {
  return result(pthread_cond_wait(native(c), native(m)));
}

extern "C" int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m,
                             const struct timespec* __restrict at) {
  const int rc = pthread_cond_timedwait(native(c), native(m), at);
  return rc == ETIMEDOUT ? thrd_timedout : result(rc);
}

extern "C" void cnd_destroy(cnd_t* c) { pthread_cond_destroy(native(c)); }

// librdkafka's read-write locks (topic and partition tables, the handle itself) are
// pthread_rwlock_t it locks directly. tests/tsan.supp's called_from_lib:librdkafka.so.1
// makes TSan ignore every interceptor librdkafka calls, and with them the order these
// locks give: a partition a librdkafka thread made and published under the topic's write
// lock, then found by a produce on the test's thread under its read lock, was reported as
// a race on the partition's mutex. Defined here, librdkafka's calls come to these, which
// call TSan's interceptors from the executable, so TSan sees the locks order memory again.
// Their init and destroy stay librdkafka's own calls, ignored like its free(): it destroys
// a lock when a reference count (atomics TSan cannot see) drops to zero.
extern "C" {
int __interceptor_pthread_rwlock_rdlock(pthread_rwlock_t*);
int __interceptor_pthread_rwlock_wrlock(pthread_rwlock_t*);
int __interceptor_pthread_rwlock_unlock(pthread_rwlock_t*);

int pthread_rwlock_rdlock(pthread_rwlock_t* l) { return __interceptor_pthread_rwlock_rdlock(l); }
int pthread_rwlock_wrlock(pthread_rwlock_t* l) { return __interceptor_pthread_rwlock_wrlock(l); }
int pthread_rwlock_unlock(pthread_rwlock_t* l) { return __interceptor_pthread_rwlock_unlock(l); }
}
