/* A pthread_join that, once armed by a thread, holds that thread's next join after the real
 * join has returned, until released: the window in which the joined thread's pthread_t is free
 * for reuse but the join has not returned to its caller yet. Loaded with LD_PRELOAD, it sits
 * between maprace's hook (which finds it with RTLD_NEXT) and the C library. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

static _Atomic(pthread_t) armed_by;
static atomic_int delaying;
static atomic_int released;

void join_delay_arm(void) { atomic_store(&armed_by, pthread_self()); }
int join_delay_waiting(void) { return atomic_load(&delaying); }
void join_delay_release(void) { atomic_store(&released, 1); }

int pthread_join(pthread_t thread, void **retval) {
    int (*real)(pthread_t, void **) = (int (*)(pthread_t, void **))dlsym(RTLD_NEXT, "pthread_join");
    int rc = real(thread, retval);
    pthread_t me = pthread_self();
    if (atomic_load(&armed_by) == me) {
        atomic_store(&armed_by, 0);
        atomic_store(&delaying, 1);
        struct timespec ms = {0, 1000000};
        while (!atomic_load(&released))
            nanosleep(&ms, 0);
    }
    return rc;
}
