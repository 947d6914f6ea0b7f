/* The lock-step TFTP DATA path in C, without the GIL: see fastpath.py for the split.
 *
 * One Pump per data thread. Python registers a transfer (its shared socket, client sockaddr,
 * file descriptor, blksize, last block) and hands its state over with give(); pump() then
 * waits in epoll_wait and, for every datagram on a registered socket that is an in-order ACK
 * of a transfer it holds, preads the next block and sends it (sendmmsg), all without Python.
 * Everything else goes back to Python, which keeps every protocol rule:
 *
 *   - datagrams it does not handle (strangers, non-ACKs, the last block's ACK, an ACK when a
 *     progress event is due, a pread error) are returned as (fd, key, bytes, (ip, port)), and
 *     the transfer they belong to is handed back to Python (take() reads its state);
 *   - duplicate and stale ACKs are dropped, as Transfer.on_ack drops them (no DATA for them);
 *   - a block the kernel would not take is returned as (fd, key, errno) (0: EAGAIN);
 *   - readiness of any other descriptor (the wake-up eventfd, EPOLLOUT, errors) is returned
 *     as (fd, mask), like select.epoll.poll.
 *
 * Bounded: at most MAX_SLOTS transfers (register() says -1 past it: that transfer stays in
 * Python), MAX_SOCKETS sockets, BATCH datagrams per recvmmsg/sendmmsg, RECV_SIZE bytes kept
 * per datagram (longer ones are cut, as in mux.py), MAX_HANDUPS datagrams returned per call.
 * Nothing is allocated from the network: the only allocation is one packet buffer of
 * 4 + blksize per registered transfer (blksize checked against RFC 2348's 65464).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_SLOTS 1024
#define INDEX_SIZE 4096 /* power of two, >= 4 * MAX_SLOTS: linear probing stays short */
#define MAX_SOCKETS 64
#define BATCH 64
#define RECV_SIZE 2048
#define MAX_EVENTS 256
#define MAX_HANDUPS 256
#define MAX_UNSENT (MAX_SOCKETS * BATCH)
#define MIN_BLKSIZE 8
#define MAX_BLKSIZE 65464
#define EMPTY (-1)
#define DELETED (-2)

typedef struct {
    uint64_t key; /* the client sockaddr_in's first 8 bytes, as mmsg.key_of */
    int used;
    int active; /* 1 while C holds the transfer (between give and take/hand-up) */
    int queued; /* its packet is in the current sendmmsg batch */
    int sock_fd;
    int file_fd;
    uint32_t blksize;
    struct sockaddr_in name;
    struct iovec iov;
    unsigned char *buf;
    int64_t acked, highest_sent, last_block, retransmits;
    double last_progress, sent_at, srtt, rttvar, progress_due;
} Slot;

typedef struct {
    int fd;
    uint64_t key;
    struct sockaddr_in name;
    uint32_t length;
    unsigned char data[RECV_SIZE];
} Handup;

typedef struct {
    int fd;
    uint64_t key;
    int err;
} Unsent;

typedef struct {
    PyObject_HEAD
    pthread_mutex_t mutex;
    Slot *slots;
    int32_t *index;
    int free_slots[MAX_SLOTS];
    int n_free;
    int n_deleted;
    int sockets[MAX_SOCKETS];
    int n_sockets;
    /* receive buffers (one batch) */
    struct mmsghdr rhdr[BATCH];
    struct iovec riov[BATCH];
    struct sockaddr_in rname[BATCH];
    unsigned char *rdata; /* BATCH * RECV_SIZE */
    /* send batch */
    struct mmsghdr shdr[BATCH];
    Slot *sslot[BATCH];
    /* results of one pump() */
    struct epoll_event events[MAX_EVENTS];
    int n_ready;
    struct epoll_event ready[MAX_EVENTS];
    Handup *handups;
    int n_handups;
    Unsent *unsent;
    int n_unsent;
    long long blocks; /* DATA sent by C, for tests and the bench */
    int pumping;      /* a pump() is running: one thread at a time uses the buffers above */
} Pump;

static double now_monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint32_t hash_key(uint64_t key) {
    return (uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> 52) & (INDEX_SIZE - 1);
}

/* The slot of (sock_fd, key), or -1. Caller holds the mutex. */
static int lookup(Pump *p, int sock_fd, uint64_t key) {
    uint32_t h = hash_key(key);
    for (int n = 0; n < INDEX_SIZE; n++) {
        int32_t i = p->index[(h + n) & (INDEX_SIZE - 1)];
        if (i == EMPTY)
            return -1;
        if (i >= 0 && p->slots[i].key == key && p->slots[i].sock_fd == sock_fd)
            return i;
    }
    return -1;
}

static void index_insert(Pump *p, int slot) {
    uint32_t h = hash_key(p->slots[slot].key);
    for (int n = 0; n < INDEX_SIZE; n++) {
        uint32_t at = (h + n) & (INDEX_SIZE - 1);
        if (p->index[at] < 0) {
            if (p->index[at] == DELETED)
                p->n_deleted--;
            p->index[at] = slot;
            return;
        }
    }
}

static void index_rebuild(Pump *p) {
    for (int i = 0; i < INDEX_SIZE; i++)
        p->index[i] = EMPTY;
    p->n_deleted = 0;
    for (int i = 0; i < MAX_SLOTS; i++)
        if (p->slots[i].used)
            index_insert(p, i);
}

static void index_remove(Pump *p, int slot) {
    uint32_t h = hash_key(p->slots[slot].key);
    for (int n = 0; n < INDEX_SIZE; n++) {
        uint32_t at = (h + n) & (INDEX_SIZE - 1);
        if (p->index[at] == EMPTY)
            return;
        if (p->index[at] == slot) {
            p->index[at] = DELETED;
            p->n_deleted++;
            break;
        }
    }
    if (p->n_deleted > INDEX_SIZE / 4)
        index_rebuild(p);
}

static int is_socket(Pump *p, int fd) {
    for (int i = 0; i < p->n_sockets; i++)
        if (p->sockets[i] == fd)
            return 1;
    return 0;
}

/* Python can't tell the mutex is held by pump() only for microseconds: wait without the GIL. */
static void lock_pump(Pump *p) {
    if (pthread_mutex_trylock(&p->mutex) != 0) {
        Py_BEGIN_ALLOW_THREADS
        pthread_mutex_lock(&p->mutex);
        Py_END_ALLOW_THREADS
    }
}

static void handup(Pump *p, int fd, int i, Slot *s) {
    Handup *h = &p->handups[p->n_handups++];
    uint32_t len = p->rhdr[i].msg_len;
    if (len > RECV_SIZE)
        len = RECV_SIZE;
    h->fd = fd;
    memcpy(&h->key, &p->rname[i], 8);
    h->name = p->rname[i];
    h->length = len;
    memcpy(h->data, p->rdata + (size_t)i * RECV_SIZE, len);
    if (s != NULL)
        s->active = 0; /* Python has it now, until its next give() */
}

static void send_batch(Pump *p, int fd, int count) {
    int done = 0;
    while (done < count) {
        int n = sendmmsg(fd, p->shdr + done, (unsigned)(count - done), 0);
        if (n > 0) {
            p->blocks += n;
            done += n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        int err = (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : errno;
        int upto = err == 0 ? count : done + 1; /* EAGAIN: all the rest; else that one only */
        for (; done < upto; done++) {
            Slot *s = p->sslot[done];
            Unsent *u = &p->unsent[p->n_unsent++];
            u->fd = fd;
            u->key = s->key;
            u->err = err;
            s->active = 0;
        }
    }
    for (int i = 0; i < count; i++)
        p->sslot[i]->queued = 0;
}

/* One recvmmsg batch from a registered socket. Returns -1 (errno set) if recvmmsg failed. */
static int serve_socket(Pump *p, int fd) {
    int room = MAX_HANDUPS - p->n_handups;
    if (room > BATCH)
        room = BATCH;
    for (int i = 0; i < room; i++)
        p->rhdr[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
    int n = recvmmsg(fd, p->rhdr, (unsigned)room, MSG_DONTWAIT, NULL);
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
    double now = now_monotonic();
    int queued = 0;
    for (int i = 0; i < n; i++) {
        uint64_t key;
        memcpy(&key, &p->rname[i], 8);
        int at = lookup(p, fd, key);
        Slot *s = at >= 0 ? &p->slots[at] : NULL;
        const unsigned char *d = p->rdata + (size_t)i * RECV_SIZE;
        uint32_t len = p->rhdr[i].msg_len;
        if (s == NULL || !s->active || s->queued || len < 4 || d[0] != 0 || d[1] != 4 ||
            p->rname[i].sin_family != AF_INET) {
            handup(p, fd, i, s);
            continue;
        }
        int64_t delta = ((int64_t)((d[2] << 8) | d[3]) - s->acked) & 0xFFFF;
        if (delta == 0 || delta > s->highest_sent - s->acked)
            continue; /* duplicate or stale: never DATA (the Sorcerer's Apprentice) */
        int64_t acked = s->acked + delta;
        if (acked >= s->last_block || now >= s->progress_due) {
            handup(p, fd, i, s); /* the end, or a progress event: Python's */
            continue;
        }
        int64_t following = acked + 1;
        ssize_t got = pread(s->file_fd, s->buf + 4, s->blksize, (off_t)acked * s->blksize);
        if (got < 0) {
            handup(p, fd, i, s); /* Python reads again and reports the error */
            continue;
        }
        double sample = now - s->sent_at; /* RFC 6298, as Transfer.on_ack */
        s->rttvar += (fabs(sample - s->srtt) - s->rttvar) * 0.25;
        s->srtt += (sample - s->srtt) * 0.125;
        s->acked = acked;
        s->last_progress = now;
        s->sent_at = now;
        if (following > s->highest_sent)
            s->highest_sent = following;
        else
            s->retransmits++;
        s->buf[0] = 0;
        s->buf[1] = 3;
        s->buf[2] = (unsigned char)((following >> 8) & 0xFF);
        s->buf[3] = (unsigned char)(following & 0xFF);
        s->iov.iov_len = 4 + (size_t)got; /* short: the file shrank, as the pure path sends */
        s->queued = 1;
        p->shdr[queued].msg_hdr.msg_name = &s->name;
        p->shdr[queued].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
        p->shdr[queued].msg_hdr.msg_iov = &s->iov;
        p->shdr[queued].msg_hdr.msg_iovlen = 1;
        p->sslot[queued++] = s;
    }
    if (queued)
        send_batch(p, fd, queued);
    return n;
}

static void ready_push(Pump *p, int fd, uint32_t mask) {
    if (p->n_ready < MAX_EVENTS) {
        p->ready[p->n_ready].data.fd = fd;
        p->ready[p->n_ready].events = mask;
        p->n_ready++;
    }
}

/* pump(epfd, timeout) -> (ready, handups, unsent) */
static PyObject *Pump_pump(Pump *p, PyObject *args) {
    int epfd;
    double timeout;
    if (!PyArg_ParseTuple(args, "id", &epfd, &timeout))
        return NULL;
    if (!(timeout >= 0)) /* negative or NaN */
        timeout = 0;
    if (timeout > 60)
        timeout = 60;
    if (p->pumping) {
        PyErr_SetString(PyExc_RuntimeError, "pump() is already running in another thread");
        return NULL;
    }
    p->pumping = 1; /* set and cleared holding the GIL */
    int failed = 0;
    p->n_ready = p->n_handups = p->n_unsent = 0;
    Py_BEGIN_ALLOW_THREADS
    double deadline = now_monotonic() + timeout;
    double left = timeout;
    for (;;) {
        int ms = (int)(left * 1000.0);
        if ((double)ms < left * 1000.0)
            ms++; /* round up, as select.epoll.poll: never wake before the deadline */
        int n = epoll_wait(epfd, p->events, MAX_EVENTS, ms);
        if (n < 0) {
            if (errno != EINTR)
                failed = errno;
            break;
        }
        pthread_mutex_lock(&p->mutex);
        for (int i = 0; i < n; i++) {
            int fd = p->events[i].data.fd;
            uint32_t mask = p->events[i].events;
            int room = p->n_handups < MAX_HANDUPS && p->n_unsent + BATCH <= MAX_UNSENT;
            if (!(mask & EPOLLIN) || (mask & ~(uint32_t)(EPOLLIN | EPOLLOUT)) || !room ||
                !is_socket(p, fd)) {
                ready_push(p, fd, mask);
                continue;
            }
            if (serve_socket(p, fd) < 0) {
                ready_push(p, fd, mask); /* Python's handler meets the error itself */
                continue;
            }
            if (mask & EPOLLOUT)
                ready_push(p, fd, EPOLLOUT);
        }
        pthread_mutex_unlock(&p->mutex);
        if (p->n_ready || p->n_handups || p->n_unsent)
            break;
        left = deadline - now_monotonic();
        if (left <= 0)
            break;
    }
    Py_END_ALLOW_THREADS
    p->pumping = 0;
    if (failed) {
        errno = failed;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    PyObject *ready = PyList_New(p->n_ready);
    PyObject *handups = PyList_New(p->n_handups);
    PyObject *unsent = PyList_New(p->n_unsent);
    if (!ready || !handups || !unsent)
        goto error;
    for (int i = 0; i < p->n_ready; i++) {
        PyObject *t = Py_BuildValue("(iI)", p->ready[i].data.fd, p->ready[i].events);
        if (!t)
            goto error;
        PyList_SET_ITEM(ready, i, t);
    }
    for (int i = 0; i < p->n_handups; i++) {
        Handup *h = &p->handups[i];
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &h->name.sin_addr, ip, sizeof ip);
        PyObject *t = Py_BuildValue("(iKy#(si))", h->fd, (unsigned long long)h->key,
                                    (const char *)h->data, (Py_ssize_t)h->length, ip,
                                    (int)ntohs(h->name.sin_port));
        if (!t)
            goto error;
        PyList_SET_ITEM(handups, i, t);
    }
    for (int i = 0; i < p->n_unsent; i++) {
        Unsent *u = &p->unsent[i];
        PyObject *t = Py_BuildValue("(iKi)", u->fd, (unsigned long long)u->key, u->err);
        if (!t)
            goto error;
        PyList_SET_ITEM(unsent, i, t);
    }
    return Py_BuildValue("(NNN)", ready, handups, unsent);
error:
    Py_XDECREF(ready);
    Py_XDECREF(handups);
    Py_XDECREF(unsent);
    return NULL;
}

static PyObject *Pump_add_socket(Pump *p, PyObject *args) {
    int fd;
    if (!PyArg_ParseTuple(args, "i", &fd))
        return NULL;
    lock_pump(p);
    int ok = is_socket(p, fd) || p->n_sockets < MAX_SOCKETS;
    if (ok && !is_socket(p, fd))
        p->sockets[p->n_sockets++] = fd;
    pthread_mutex_unlock(&p->mutex);
    return PyBool_FromLong(ok);
}

static PyObject *Pump_remove_socket(Pump *p, PyObject *args) {
    int fd;
    if (!PyArg_ParseTuple(args, "i", &fd))
        return NULL;
    lock_pump(p);
    for (int i = 0; i < p->n_sockets; i++) {
        if (p->sockets[i] == fd) {
            p->sockets[i] = p->sockets[--p->n_sockets];
            break;
        }
    }
    pthread_mutex_unlock(&p->mutex);
    Py_RETURN_NONE;
}

/* register(sock_fd, sockaddr16, file_fd, blksize, last_block) -> slot, or -1 (stay in Python):
 * the table is full, the socket was not added, or the client has a slot on it already */
static PyObject *Pump_register(Pump *p, PyObject *args) {
    int sock_fd, file_fd;
    Py_buffer name;
    unsigned int blksize;
    long long last_block;
    if (!PyArg_ParseTuple(args, "iy*iIL", &sock_fd, &name, &file_fd, &blksize, &last_block))
        return NULL;
    if (name.len != (Py_ssize_t)sizeof(struct sockaddr_in) || blksize < MIN_BLKSIZE ||
        blksize > MAX_BLKSIZE || last_block < 1 || sock_fd < 0 || file_fd < 0) {
        PyBuffer_Release(&name);
        PyErr_SetString(PyExc_ValueError, "bad transfer parameters");
        return NULL;
    }
    unsigned char *buf = PyMem_RawMalloc(4 + (size_t)blksize);
    if (buf == NULL) {
        PyBuffer_Release(&name);
        return PyErr_NoMemory();
    }
    uint64_t key;
    memcpy(&key, name.buf, 8);
    lock_pump(p);
    int slot = -1;
    /* -1 also for a socket C does not serve: its ACKs would never reach the slot */
    if (p->n_free > 0 && is_socket(p, sock_fd) && lookup(p, sock_fd, key) < 0) {
        slot = p->free_slots[--p->n_free];
        Slot *s = &p->slots[slot];
        memset(s, 0, sizeof *s);
        s->used = 1;
        s->key = key;
        s->sock_fd = sock_fd;
        s->file_fd = file_fd;
        s->blksize = blksize;
        memcpy(&s->name, name.buf, sizeof s->name);
        s->buf = buf;
        s->iov.iov_base = buf;
        s->last_block = last_block;
        index_insert(p, slot);
        buf = NULL;
    }
    pthread_mutex_unlock(&p->mutex);
    PyBuffer_Release(&name);
    PyMem_RawFree(buf);
    return PyLong_FromLong(slot);
}

/* The pump locked and its slot *slot*, or NULL (unlocked, ValueError set) if there is none. */
static Slot *locked_slot(Pump *p, int slot) {
    lock_pump(p);
    if (slot < 0 || slot >= MAX_SLOTS || !p->slots[slot].used) {
        pthread_mutex_unlock(&p->mutex);
        PyErr_SetString(PyExc_ValueError, "no such slot");
        return NULL;
    }
    return &p->slots[slot];
}

static PyObject *Pump_unregister(Pump *p, PyObject *args) {
    int slot;
    if (!PyArg_ParseTuple(args, "i", &slot))
        return NULL;
    Slot *s = locked_slot(p, slot);
    if (s == NULL)
        return NULL;
    index_remove(p, slot);
    unsigned char *buf = s->buf;
    memset(s, 0, sizeof *s);
    p->free_slots[p->n_free++] = slot;
    pthread_mutex_unlock(&p->mutex);
    PyMem_RawFree(buf);
    Py_RETURN_NONE;
}

/* give(slot, acked, highest_sent, last_progress, sent_at, srtt, rttvar, progress_due) */
static PyObject *Pump_give(Pump *p, PyObject *args) {
    int slot;
    long long acked, highest;
    double last_progress, sent_at, srtt, rttvar, progress_due;
    if (!PyArg_ParseTuple(args, "iLLddddd", &slot, &acked, &highest, &last_progress, &sent_at,
                          &srtt, &rttvar, &progress_due))
        return NULL;
    Slot *s = locked_slot(p, slot);
    if (s == NULL)
        return NULL;
    if (acked < 0 || highest < acked || highest > s->last_block || srtt < 0) {
        pthread_mutex_unlock(&p->mutex);
        PyErr_SetString(PyExc_ValueError, "bad transfer state");
        return NULL;
    }
    s->acked = acked;
    s->highest_sent = highest;
    s->last_progress = last_progress;
    s->sent_at = sent_at;
    s->srtt = srtt;
    s->rttvar = rttvar;
    s->progress_due = progress_due;
    s->retransmits = 0;
    s->active = 1;
    pthread_mutex_unlock(&p->mutex);
    Py_RETURN_NONE;
}

/* take(slot) -> (acked, highest_sent, last_progress, sent_at, srtt, rttvar, retransmits) */
static PyObject *Pump_take(Pump *p, PyObject *args) {
    int slot;
    if (!PyArg_ParseTuple(args, "i", &slot))
        return NULL;
    Slot *s = locked_slot(p, slot);
    if (s == NULL)
        return NULL;
    s->active = 0;
    long long acked = s->acked, highest = s->highest_sent, retrans = s->retransmits;
    double lp = s->last_progress, sa = s->sent_at, srtt = s->srtt, rttvar = s->rttvar;
    s->retransmits = 0;
    pthread_mutex_unlock(&p->mutex);
    return Py_BuildValue("(LLddddL)", acked, highest, lp, sa, srtt, rttvar, retrans);
}

static PyObject *Pump_get_blocks(Pump *p, void *closure) {
    (void)closure;
    return PyLong_FromLongLong(p->blocks);
}

static PyObject *Pump_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    (void)args;
    (void)kwds;
    Pump *p = (Pump *)type->tp_alloc(type, 0);
    if (p == NULL)
        return NULL;
    pthread_mutex_init(&p->mutex, NULL);
    p->slots = PyMem_RawCalloc(MAX_SLOTS, sizeof(Slot));
    p->index = PyMem_RawMalloc(INDEX_SIZE * sizeof(int32_t));
    p->rdata = PyMem_RawMalloc((size_t)BATCH * RECV_SIZE);
    p->handups = PyMem_RawMalloc(MAX_HANDUPS * sizeof(Handup));
    p->unsent = PyMem_RawMalloc(MAX_UNSENT * sizeof(Unsent));
    if (!p->slots || !p->index || !p->rdata || !p->handups || !p->unsent) {
        Py_DECREF(p);
        return PyErr_NoMemory();
    }
    for (int i = 0; i < INDEX_SIZE; i++)
        p->index[i] = EMPTY;
    for (int i = 0; i < MAX_SLOTS; i++)
        p->free_slots[i] = MAX_SLOTS - 1 - i;
    p->n_free = MAX_SLOTS;
    for (int i = 0; i < BATCH; i++) {
        p->riov[i].iov_base = p->rdata + (size_t)i * RECV_SIZE;
        p->riov[i].iov_len = RECV_SIZE;
        p->rhdr[i].msg_hdr.msg_name = &p->rname[i];
        p->rhdr[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
        p->rhdr[i].msg_hdr.msg_iov = &p->riov[i];
        p->rhdr[i].msg_hdr.msg_iovlen = 1;
    }
    return (PyObject *)p;
}

static void Pump_dealloc(Pump *p) {
    if (p->slots != NULL)
        for (int i = 0; i < MAX_SLOTS; i++)
            PyMem_RawFree(p->slots[i].buf);
    pthread_mutex_destroy(&p->mutex);
    PyMem_RawFree(p->slots);
    PyMem_RawFree(p->index);
    PyMem_RawFree(p->rdata);
    PyMem_RawFree(p->handups);
    PyMem_RawFree(p->unsent);
    Py_TYPE(p)->tp_free((PyObject *)p);
}

static PyMethodDef Pump_methods[] = {
    {"pump", (PyCFunction)Pump_pump, METH_VARARGS, "pump(epfd, timeout) -> (ready, handups, unsent)"},
    {"add_socket", (PyCFunction)Pump_add_socket, METH_VARARGS, "add_socket(fd) -> bool"},
    {"remove_socket", (PyCFunction)Pump_remove_socket, METH_VARARGS, "remove_socket(fd)"},
    {"register", (PyCFunction)Pump_register, METH_VARARGS,
     "register(sock_fd, sockaddr, file_fd, blksize, last_block) -> slot or -1"},
    {"unregister", (PyCFunction)Pump_unregister, METH_VARARGS, "unregister(slot)"},
    {"give", (PyCFunction)Pump_give, METH_VARARGS,
     "give(slot, acked, highest_sent, last_progress, sent_at, srtt, rttvar, progress_due)"},
    {"take", (PyCFunction)Pump_take, METH_VARARGS,
     "take(slot) -> (acked, highest_sent, last_progress, sent_at, srtt, rttvar, retransmits)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Pump_getset[] = {
    {"blocks", (getter)Pump_get_blocks, NULL, "DATA blocks sent by C so far", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject PumpType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "pxetui.engine.tftp._fastpath.Pump",
    .tp_basicsize = sizeof(Pump),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The lock-step TFTP DATA path of one data thread (see fastpath.py).",
    .tp_new = Pump_new,
    .tp_dealloc = (destructor)Pump_dealloc,
    .tp_methods = Pump_methods,
    .tp_getset = Pump_getset,
};

static struct PyModuleDef fastpath_module = {
    PyModuleDef_HEAD_INIT, "_fastpath", "The lock-step TFTP DATA path in C.", -1, NULL, NULL,
    NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastpath(void) {
    if (PyType_Ready(&PumpType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&fastpath_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&PumpType);
    if (PyModule_AddObject(m, "Pump", (PyObject *)&PumpType) < 0) {
        Py_DECREF(&PumpType);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "MAX_SLOTS", MAX_SLOTS);
    PyModule_AddIntConstant(m, "MAX_SOCKETS", MAX_SOCKETS);
    return m;
}
