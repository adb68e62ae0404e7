// A Linux TAP device for Node, as a small Node-API addon (C, no dependencies
// beyond Node's own headers): open /dev/net/tun with IFF_TAP | IFF_NO_PI,
// optionally inside a network namespace, read frames in batches when libuv
// says the fd is readable, and write frames with one write() each.
//
// Why an addon (src/host/tap.ts has the whole story): Node has no ioctl()
// (TUNSETIFF is one) and cannot poll a character device, so without native
// code every frame crosses a pipe to a helper process and back. Here a frame
// costs one read() or write() and no copy beyond the kernel's.
//
// The JS side (src/host/tap.ts) owns two buffers it hands over once: a slab
// that received frames are read into back to back, and a table of their
// lengths (uint32, native byte order); each frame starts on a 4-byte
// boundary after the one before it. On each readable event the addon reads
// until EAGAIN or until the batch is full, then calls the JS callback once
// with the number of frames (or -errno when reading failed); the frames are valid until the callback returns.
//
// Build: scripts/build-native.mjs (npm install runs it) with the system C
// compiler: cc -shared -fPIC -I<node>/include/node native/tap.c. Node-API
// symbols resolve at load time, so nothing is linked and the .node file works
// with any Node >= 20 on the machine.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

// The most frames one readable event delivers: bounds the time spent in one
// callback (the event loop gets to timers and writes between batches).
#define MAX_BATCH 256
// A read needs room for the largest frame the kernel may hand us (a TAP's
// MTU can be raised to 65535): a read into less would truncate the frame.
#define MAX_FRAME 65536

typedef struct {
    int fd;
    uv_poll_t poll;
    int uvState;        // 0: no uv handle, 1: initialised (polling), 2: uv_close() called, 3: closed
    int finalized;      // the JS external is gone: free on the uv close callback
    int inCallback;     // inside the JS callback: close() must not pull its context away
    napi_env env;
    napi_ref self;      // the external, kept alive while polling
    napi_ref callback;  // onFrames(count)
    napi_ref slabRef;
    napi_ref lensRef;
    napi_async_context async;
    unsigned char *slab;
    size_t slabLen;
    uint32_t *lens;
    size_t lensMax;
    // counted here, read by JS through stats()
    double readErrors;
    double batches;
} Tap;

#define CHECK(call)                                                        \
    do {                                                                   \
        napi_status s_ = (call);                                           \
        if (s_ != napi_ok) {                                               \
            napi_throw_error(env, "EADDON", "tap addon: " #call " failed"); \
            return NULL;                                                   \
        }                                                                  \
    } while (0)

static napi_value throwErrno(napi_env env, int err, const char *what) {
    char msg[256];
    const char *code = NULL;
    switch (err) {
        case EPERM: code = "EPERM"; break;
        case EACCES: code = "EACCES"; break;
        case EBUSY: code = "EBUSY"; break;
        case ENOENT: code = "ENOENT"; break;
        case ENODEV: code = "ENODEV"; break;
        case EINVAL: code = "EINVAL"; break;
        default: code = "EIO"; break;
    }
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
    napi_throw_error(env, code, msg);
    return NULL;
}

static int argString(napi_env env, napi_value v, char *out, size_t max) {
    size_t n = 0;
    napi_valuetype t;
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) return -1;
    if (napi_get_value_string_utf8(env, v, out, max, &n) != napi_ok) return -1;
    return (int)n;
}

// open(name, netnsPath | null) -> fd. Throws an Error with .code = errno name.
// With a namespace path (/var/run/netns/NAME) the calling thread enters that
// namespace for the open and goes back at once: a tun file belongs to the
// namespace of the process that opened it (tun_chr_open), whatever thread
// uses it later. setns(CLONE_NEWNET) affects the calling thread only.
static napi_value tapOpen(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2];
    char name[IFNAMSIZ + 1];
    char nsPath[512];
    int haveNs = 0;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 1 || argString(env, argv[0], name, sizeof name) <= 0 || strlen(name) >= IFNAMSIZ) {
        napi_throw_error(env, "EINVAL", "bad interface name");
        return NULL;
    }
    if (argc >= 2) {
        napi_valuetype t;
        CHECK(napi_typeof(env, argv[1], &t));
        if (t == napi_string) {
            if (argString(env, argv[1], nsPath, sizeof nsPath) <= 0) {
                napi_throw_error(env, "EINVAL", "bad namespace path");
                return NULL;
            }
            haveNs = 1;
        }
    }
    int home = -1;
    if (haveNs) {
        home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (home < 0) return throwErrno(env, errno, "cannot open this thread's network namespace");
        int ns = open(nsPath, O_RDONLY | O_CLOEXEC);
        if (ns < 0) {
            int e = errno;
            close(home);
            return throwErrno(env, e, "cannot open the network namespace");
        }
        if (setns(ns, CLONE_NEWNET) < 0) {
            int e = errno;
            close(ns);
            close(home);
            return throwErrno(env, e, "cannot enter the network namespace");
        }
        close(ns);
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    int err = fd < 0 ? errno : 0;
    const char *what = "cannot open /dev/net/tun";
    if (fd >= 0) {
        struct ifreq ifr;
        memset(&ifr, 0, sizeof ifr);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        memcpy(ifr.ifr_name, name, strlen(name));
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
            err = errno;
            what = "TUNSETIFF";
            close(fd);
            fd = -1;
        }
    }
    if (haveNs) {
        // Back home. If this failed the thread would stay in the other
        // namespace: nothing sensible can go on, so stop the process loudly.
        if (setns(home, CLONE_NEWNET) < 0) {
            perror("tap addon: cannot return to the original network namespace");
            abort();
        }
        close(home);
    }
    if (fd < 0) return throwErrno(env, err, what);
    napi_value r;
    CHECK(napi_create_int32(env, fd, &r));
    return r;
}

static void release(Tap *t) {
    napi_env env = t->env;
    if (t->callback) napi_delete_reference(env, t->callback);
    if (t->slabRef) napi_delete_reference(env, t->slabRef);
    if (t->lensRef) napi_delete_reference(env, t->lensRef);
    if (t->async) napi_async_destroy(env, t->async);
    t->callback = t->slabRef = t->lensRef = NULL;
    t->async = NULL;
    t->slab = NULL;
    t->lens = NULL;
}

static void onUvClosed(uv_handle_t *h) {
    Tap *t = (Tap *)h->data;
    t->uvState = 3;
    if (t->finalized) free(t);
}

// Stops callbacks and closes the fd; idempotent. The poll is stopped before
// the fd is closed (libuv's rule: uv_poll_stop() takes the fd out of epoll),
// and the memory is freed by whichever comes last: libuv's close callback or
// the finalizer of the JS external.
static void shutdownTap(Tap *t) {
    if (t->uvState == 1) {
        uv_poll_stop(&t->poll);
        t->uvState = 2;
        uv_close((uv_handle_t *)&t->poll, onUvClosed);
    }
    if (t->fd >= 0) close(t->fd);
    t->fd = -1;
    if (!t->inCallback) release(t);
    if (t->self) {
        napi_delete_reference(t->env, t->self);
        t->self = NULL;
    }
}

// Calls onFrames(arg); false if the callback closed the handle.
static int call(Tap *t, int32_t value) {
    napi_env env = t->env;
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return 0;
    napi_value cb, recv, arg, result;
    if (napi_get_reference_value(env, t->callback, &cb) == napi_ok && napi_get_global(env, &recv) == napi_ok &&
        napi_create_int32(env, value, &arg) == napi_ok) {
        // make_callback, not call_function: it runs the nextTick queue and
        // microtasks afterwards, as for any I/O callback in Node.
        t->inCallback = 1;
        napi_status st = napi_make_callback(env, t->async, recv, cb, 1, &arg, &result);
        t->inCallback = 0;
        if (st != napi_ok) {
            bool pending = false;
            napi_is_exception_pending(env, &pending);
            if (pending) {
                napi_value e;
                napi_get_and_clear_last_exception(env, &e);
                napi_fatal_exception(env, e);
            }
        }
    }
    napi_close_handle_scope(env, scope);
    if (t->uvState != 1) {
        release(t);  // closed by the callback
        return 0;
    }
    return 1;
}

// Reads until EAGAIN or the batch is full, then calls onFrames(count) once.
// A read error other than EAGAIN (the interface was deleted: EBADFD/EIO)
// stops polling, since the fd would stay readable and spin the loop, and is
// reported as onFrames(-errno) after any frames already read.
static void onReadable(uv_poll_t *p, int status, int events) {
    (void)events;
    Tap *t = (Tap *)p->data;
    if (t->uvState != 1 || !t->slab) return;
    size_t off = 0;
    int32_t n = 0;
    int err = 0;
    if (status == 0) {
        while ((size_t)n < t->lensMax && n < MAX_BATCH && off <= t->slabLen && t->slabLen - off >= MAX_FRAME) {
            ssize_t r = read(t->fd, t->slab + off, MAX_FRAME);
            if (r < 0) {
                if (errno == EINTR) continue;
                if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
                break;
            }
            if (r == 0) break;
            t->lens[n++] = (uint32_t)r;
            // the next frame on a 4-byte boundary: its IP and TCP headers
            // (at +14, +34) land on even addresses (fast 16-bit checksum reads)
            off = (off + (size_t)r + 3) & ~(size_t)3;
        }
    } else {
        err = status == UV_EBADF ? EBADF : EIO;
    }
    if (err) {
        t->readErrors++;
        uv_poll_stop(&t->poll);
    }
    if (n > 0) t->batches++;
    if (n > 0 && !call(t, n)) return;
    if (err && t->uvState == 1 && t->callback) call(t, -err);
}

static void finalize(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    Tap *t = (Tap *)data;
    t->finalized = 1;
    shutdownTap(t);
    if (t->uvState == 0 || t->uvState == 3) free(t);
}

static Tap *getTap(napi_env env, napi_value v) {
    void *p = NULL;
    napi_valuetype ty;
    if (napi_typeof(env, v, &ty) != napi_ok || ty != napi_external || napi_get_value_external(env, v, &p) != napi_ok || !p) {
        napi_throw_error(env, "EINVAL", "not a tap handle");
        return NULL;
    }
    return (Tap *)p;
}

// attach(fd) -> handle (an external). The handle owns the fd from now on.
static napi_value tapAttach(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1], ext;
    int32_t fd;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
        napi_throw_error(env, "EINVAL", "attach(fd): bad fd");
        return NULL;
    }
    Tap *t = calloc(1, sizeof *t);
    if (!t) {
        napi_throw_error(env, "ENOMEM", "out of memory");
        return NULL;
    }
    t->fd = fd;
    t->env = env;
    if (napi_create_external(env, t, finalize, NULL, &ext) != napi_ok) {
        free(t);
        napi_throw_error(env, "EADDON", "napi_create_external failed");
        return NULL;
    }
    return ext;
}

// start(handle, slab: Buffer, lens: Uint32Array, onFrames: (count) => void)
static napi_value tapStart(napi_env env, napi_callback_info info) {
    size_t argc = 4;
    napi_value argv[4];
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 4) {
        napi_throw_error(env, "EINVAL", "start(handle, slab, lengths, callback)");
        return NULL;
    }
    Tap *t = getTap(env, argv[0]);
    if (!t) return NULL;
    if (t->uvState != 0 || t->fd < 0) {
        napi_throw_error(env, "EINVAL", t->fd < 0 ? "closed" : "already started");
        return NULL;
    }
    void *slab, *lens;
    size_t slabLen, lensLen, abOff;
    napi_typedarray_type tt;
    napi_value ab;
    napi_valuetype ft;
    if (napi_get_buffer_info(env, argv[1], &slab, &slabLen) != napi_ok || slabLen < MAX_FRAME ||
        napi_get_typedarray_info(env, argv[2], &tt, &lensLen, &lens, &ab, &abOff) != napi_ok || tt != napi_uint32_array ||
        lensLen == 0 || napi_typeof(env, argv[3], &ft) != napi_ok || ft != napi_function) {
        napi_throw_error(env, "EINVAL", "start(handle, slab: Buffer >= 64 KiB, lengths: Uint32Array, callback)");
        return NULL;
    }
    t->slab = slab;
    t->slabLen = slabLen;
    t->lens = lens;
    t->lensMax = lensLen;
    CHECK(napi_create_reference(env, argv[1], 1, &t->slabRef));
    CHECK(napi_create_reference(env, argv[2], 1, &t->lensRef));
    CHECK(napi_create_reference(env, argv[3], 1, &t->callback));
    napi_value name;
    CHECK(napi_create_string_utf8(env, "ds-tcpip:tap", NAPI_AUTO_LENGTH, &name));
    CHECK(napi_async_init(env, NULL, name, &t->async));
    uv_loop_t *loop;
    CHECK(napi_get_uv_event_loop(env, &loop));
    int rc = uv_poll_init(loop, &t->poll, t->fd);
    if (rc != 0) {
        release(t);
        napi_throw_error(env, "EIO", uv_strerror(rc));
        return NULL;
    }
    t->poll.data = t;
    t->uvState = 1;
    rc = uv_poll_start(&t->poll, UV_READABLE, onReadable);
    if (rc != 0) {
        shutdownTap(t);
        napi_throw_error(env, "EIO", uv_strerror(rc));
        return NULL;
    }
    // keep the handle (and so the Tap) alive while libuv may call back
    CHECK(napi_create_reference(env, argv[0], 1, &t->self));
    return NULL;
}

// write(handle, buf, length) -> bytes written, or -errno (-EAGAIN: the kernel's queue is full).
static napi_value tapWrite(napi_env env, napi_callback_info info) {
    size_t argc = 3;
    napi_value argv[3], r;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 3) {
        napi_throw_error(env, "EINVAL", "write(handle, buffer, length)");
        return NULL;
    }
    Tap *t = getTap(env, argv[0]);
    if (!t) return NULL;
    void *data;
    size_t len;
    uint32_t want;
    if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok || napi_get_value_uint32(env, argv[2], &want) != napi_ok ||
        want > len) {
        napi_throw_error(env, "EINVAL", "write(handle, buffer, length <= buffer.length)");
        return NULL;
    }
    ssize_t n;
    if (t->fd < 0) n = -EBADF;
    else {
        do n = write(t->fd, data, want);
        while (n < 0 && errno == EINTR);
        if (n < 0) n = -errno;
    }
    CHECK(napi_create_int32(env, (int32_t)n, &r));
    return r;
}

// close(handle): no more callbacks, the fd closed (a non-persistent TAP goes away).
static napi_value tapClose(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1];
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 1) return NULL;
    Tap *t = getTap(env, argv[0]);
    if (!t) return NULL;
    shutdownTap(t);
    return NULL;
}

// stats(handle) -> { batches, readErrors }
static napi_value tapStats(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value argv[1], o, v;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 1) return NULL;
    Tap *t = getTap(env, argv[0]);
    if (!t) return NULL;
    CHECK(napi_create_object(env, &o));
    CHECK(napi_create_double(env, t->batches, &v));
    CHECK(napi_set_named_property(env, o, "batches", v));
    CHECK(napi_create_double(env, t->readErrors, &v));
    CHECK(napi_set_named_property(env, o, "readErrors", v));
    return o;
}

static napi_value init(napi_env env, napi_value exports) {
    napi_property_descriptor fns[] = {
        {"open", NULL, tapOpen, NULL, NULL, NULL, napi_enumerable, NULL},
        {"attach", NULL, tapAttach, NULL, NULL, NULL, napi_enumerable, NULL},
        {"start", NULL, tapStart, NULL, NULL, NULL, napi_enumerable, NULL},
        {"write", NULL, tapWrite, NULL, NULL, NULL, napi_enumerable, NULL},
        {"close", NULL, tapClose, NULL, NULL, NULL, napi_enumerable, NULL},
        {"stats", NULL, tapStats, NULL, NULL, NULL, napi_enumerable, NULL},
    };
    if (napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns) != napi_ok) return NULL;
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
