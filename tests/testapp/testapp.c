/*
 * testapp: the one program the wharf end-to-end tests run as containers.
 *
 * The test images are built FROM scratch (the test machines have no internet), so this is a
 * single static binary that can play every part a task test needs: a web server with health,
 * crash, memory and latency knobs, a process that exits with a given code, a log writer, a
 * memory hog, a process that ignores SIGTERM, and a health check client (scratch images have
 * no curl).
 *
 *   gcc -static -O2 -o testapp testapp.c
 *
 * Subcommands (argv[1]; none means "serve"):
 *
 *   serve [PORT]            HTTP/1.1 server on PORT (default $PORT, else 8080):
 *                             GET /health          200 "ok"
 *                             GET /                200 JSON with hostname, $NAME, pid
 *                             GET /env             the environment, one variable per line
 *                             GET /exit?code=N     answers, then exits with status N
 *                             GET /hog?mb=N        allocates and touches N MiB, keeps it
 *                             GET /slow?ms=N       answers after N milliseconds
 *                             GET /burn?ms=N       keeps a CPU busy for N milliseconds of
 *                                                  its own CPU time, then answers
 *                             GET /log?text=T      prints T to stdout
 *                             GET /status?code=N   answers with HTTP status N
 *                             GET /info            200 JSON: the process's view of its
 *                                                  container (see `info` below)
 *                           Logs "listening on PORT" once and "<METHOD> <target> <status>"
 *                           per request.
 *   exit CODE [DELAY_MS]    prints "exiting with CODE", waits, exits with CODE
 *   log COUNT [INTERVAL_MS] prints "line <i> of <COUNT>"; every 10th also "err <i>" on stderr
 *   hog MB                  allocates and touches MB MiB one MiB at a time, then sleeps
 *   sleep [--ignore-term]   sleeps forever; with --ignore-term SIGTERM is only reported
 *   check PORT [PATH]       GET http://127.0.0.1:PORT/PATH (default /health); exit 0 on 2xx
 *   env                     prints the environment
 *   info                    prints one JSON object: working directory (cwd), uid, gid,
 *                           the open-files limit (nofile_soft, nofile_hard; `ulimit -n`),
 *                           whether a file can be created in / (root_writable, and the
 *                           error as root_write_error when not), hostname
 *   wait-file PATH [PORT]   waits until PATH exists, then serves as "serve"
 *
 * Called as `curl` (argv[0]'s basename; the image links /usr/bin/curl and /bin/curl to
 * /testapp), it is the small part of curl that health checks use, e.g.
 * `curl -fsS http://127.0.0.1:8000/health || exit 1`: options -f/--fail, -s/--silent,
 * -S/--show-error, -o/--output FILE, -m/--max-time SECONDS, -L/--location (accepted,
 * ignored), single-letter ones combinable (-fsS); one http:// URL whose host is an IPv4
 * address or localhost. It GETs the URL and prints the body; exit status 0 on an answer,
 * 22 on HTTP >= 400 with -f, 7 when it cannot connect, 28 on a timeout, 6 for a host name
 * it cannot resolve, 1 for another protocol, 3 for a malformed URL, 2 for a bad option.
 *
 * Signals: the program usually runs as PID 1 of its container, where the kernel drops
 * signals that have no handler, so SIGTERM and SIGINT are always handled: a dedicated thread
 * waits for them (they are blocked everywhere else) and prints "received SIGTERM, exiting"
 * before exiting with status 0, or "ignoring SIGTERM" in `sleep --ignore-term`.
 *
 * stdout is line buffered and stderr unbuffered, so every line reaches the container's log
 * as soon as it is printed.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MIB (1024L * 1024L)
/* Largest request head (request line + headers) the server reads. */
#define MAX_HEAD 16384
/* Largest request body the server discards to keep a connection alive. */
#define MAX_DISCARD (1L << 20)
/* An idle keep-alive connection is closed after this many seconds. */
#define IDLE_TIMEOUT_S 60
/* How long `check` waits for the server before giving up. */
#define CHECK_TIMEOUT_S 5

/* ---------------------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------------------- */

/* Prints a message and the usage to stderr, and exits with status 2. */
__attribute__((format(printf, 1, 2), noreturn)) static void usage(const char *fmt, ...) {
    va_list ap;
    fputs("testapp: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nusage: testapp serve [PORT] | exit CODE [DELAY_MS] | log COUNT [INTERVAL_MS]"
          " | hog MB | sleep [--ignore-term] | check PORT [PATH] | env | info"
          " | wait-file PATH [PORT]\n"
          "       curl [-fsSL] [-o FILE] [-m SECONDS] http://HOST[:PORT]/PATH (as argv[0])\n",
          stderr);
    exit(2);
}

/* Parses a whole decimal number in [min, max] into *out; returns 0, or -1 if it is not one. */
static int parse_long(const char *text, long min, long max, long *out) {
    if (text == NULL || *text == '\0')
        return -1;
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max)
        return -1;
    *out = value;
    return 0;
}

/* Like parse_long, but a bad value ends the program with a usage error naming `what`. */
static long arg_long(const char *text, long min, long max, const char *what) {
    long value;
    if (parse_long(text, min, max, &value) != 0)
        usage("%s must be a number from %ld to %ld, not \"%s\"", what, min, max,
              text ? text : "");
    return value;
}

/* Sleeps for `ms` milliseconds, resuming after interruptions. */
static void sleep_ms(long ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Sleeps until the signal thread ends the process. */
static void sleep_forever(void) {
    for (;;)
        pause();
}

/* Allocates `mb` MiB one MiB at a time and writes to every page, so the memory is really
 * resident (and counted against a container's limit). The memory is never freed. Calls
 * `progress` after each MiB when it is not NULL. Returns the MiB allocated. */
static long hog(long mb, void (*progress)(long done, long total)) {
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        page = 4096;
    for (long i = 0; i < mb; i++) {
        char *chunk = malloc(MIB);
        if (chunk == NULL)
            return i;
        for (long off = 0; off < MIB; off += page)
            chunk[off] = (char)(i + 1);
        if (progress != NULL)
            progress(i + 1, mb);
    }
    return mb;
}

/* ---------------------------------------------------------------------------------------
 * Signals
 * ------------------------------------------------------------------------------------- */

/* Whether SIGTERM is only reported (`sleep --ignore-term`). */
static int ignore_term;

/* Waits for SIGTERM / SIGINT (blocked in every other thread) and acts on them. */
static void *signal_thread(void *arg) {
    sigset_t *set = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(set, &sig) != 0)
            continue;
        const char *name = sig == SIGTERM ? "SIGTERM" : "SIGINT";
        if (ignore_term) {
            printf("ignoring %s\n", name);
            continue;
        }
        printf("received %s, exiting\n", name);
        fflush(stdout);
        exit(0);
    }
    return NULL;
}

/* Blocks SIGTERM and SIGINT in this thread (and so in every thread created later) and starts
 * the thread that handles them. SIGPIPE is ignored: a client that goes away is not fatal. */
static void setup_signals(void) {
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) {
        perror("testapp: pthread_sigmask");
        exit(1);
    }
    signal(SIGPIPE, SIG_IGN);
    pthread_t thread;
    if (pthread_create(&thread, NULL, signal_thread, &set) != 0) {
        perror("testapp: cannot start the signal thread");
        exit(1);
    }
    pthread_detach(thread);
}

/* ---------------------------------------------------------------------------------------
 * Text buffers and query strings
 * ------------------------------------------------------------------------------------- */

/* A growable, NUL-terminated byte buffer. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};

/* Appends `n` bytes; returns -1 when memory runs out. */
static int buf_add(struct buf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL)
            return -1;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

static int buf_str(struct buf *b, const char *s) { return buf_add(b, s, strlen(s)); }

/* Appends `s` as a JSON string literal (quotes and escapes included). */
static int buf_json_string(struct buf *b, const char *s) {
    if (buf_add(b, "\"", 1) != 0)
        return -1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            if (buf_add(b, esc, 2) != 0)
                return -1;
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            if (buf_str(b, esc) != 0)
                return -1;
        } else if (buf_add(b, (const char *)p, 1) != 0) {
            return -1;
        }
    }
    return buf_add(b, "\"", 1);
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes %XX escapes and '+' (a space, in a query string) in place. */
static void url_decode(char *s) {
    char *out = s;
    for (char *in = s; *in; in++) {
        if (*in == '+') {
            *out++ = ' ';
        } else if (*in == '%' && hex_value(in[1]) >= 0 && hex_value(in[2]) >= 0) {
            *out++ = (char)(hex_value(in[1]) * 16 + hex_value(in[2]));
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
}

/* The decoded value of query parameter `name` in `query` (`a=1&b=2`), copied into `out`
 * (at most `size` bytes with the NUL); returns 0, or -1 when the parameter is absent or its
 * value does not fit. */
static int query_param(const char *query, const char *name, char *out, size_t size) {
    size_t name_len = strlen(name);
    const char *p = query;
    while (p != NULL && *p) {
        const char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            size_t value_len = len - name_len - 1;
            if (value_len >= size)
                return -1; /* too long to be a value we accept */
            memcpy(out, p + name_len + 1, value_len);
            out[value_len] = '\0';
            url_decode(out);
            return 0;
        }
        p = end ? end + 1 : NULL;
    }
    return -1;
}

/* ---------------------------------------------------------------------------------------
 * The HTTP server
 * ------------------------------------------------------------------------------------- */

/* What a handler answers. `body` is owned by the response. */
struct response {
    int status;
    const char *content_type;
    struct buf body;
    /* Exit status to exit with once the answer is sent (/exit), or -1. */
    int exit_code;
};

static const char *reason_phrase(int status) {
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

/* Sets a plain-text answer built from a format. */
__attribute__((format(printf, 3, 4))) static void respond_text(struct response *r, int status, const char *fmt, ...) {
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    r->status = status;
    r->content_type = "text/plain; charset=utf-8";
    r->body.len = 0;
    buf_str(&r->body, text);
}

/* Reads a numeric query parameter into *out; answers 400 and returns -1 when it is missing
 * or out of range. */
static int numeric_param(struct response *r, const char *query, const char *name, long min,
                         long max, long *out) {
    char text[32];
    if (query == NULL || query_param(query, name, text, sizeof text) != 0 ||
        parse_long(text, min, max, out) != 0) {
        respond_text(r, 400, "query parameter %s must be a number from %ld to %ld\n", name, min,
                     max);
        return -1;
    }
    return 0;
}

/* GET /: who answered. */
static void handle_root(struct response *r) {
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        strcpy(host, "unknown");
    const char *name = getenv("NAME");
    char pid[32];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    struct buf *b = &r->body;
    buf_str(b, "{\"hostname\": ");
    buf_json_string(b, host);
    buf_str(b, ", \"name\": ");
    if (name != NULL)
        buf_json_string(b, name);
    else
        buf_str(b, "null");
    buf_str(b, ", \"pid\": ");
    buf_str(b, pid);
    buf_str(b, "}\n");
    r->status = 200;
    r->content_type = "application/json";
}

/* GET /env: the environment, one variable per line. */
static void handle_env(struct response *r) {
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        buf_str(&r->body, *e);
        buf_str(&r->body, "\n");
    }
    r->status = 200;
    r->content_type = "text/plain; charset=utf-8";
}

/* Appends the `info` JSON object (see the top of the file) to `b`. */
static void build_info(struct buf *b) {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL)
        snprintf(cwd, sizeof cwd, "?%s", strerror(errno));
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        strcpy(host, "unknown");
    struct rlimit nofile = {0, 0};
    getrlimit(RLIMIT_NOFILE, &nofile);

    /* Can this process create a file in /? (A read-only root or a non-root user cannot.) */
    char probe[64];
    snprintf(probe, sizeof probe, "/.testapp-write-probe-%d", (int)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int write_errno = fd < 0 ? errno : 0;
    if (fd >= 0) {
        close(fd);
        unlink(probe);
    }

    char num[64];
    buf_str(b, "{\"cwd\": ");
    buf_json_string(b, cwd);
    snprintf(num, sizeof num, ", \"uid\": %u, \"gid\": %u", (unsigned)getuid(), (unsigned)getgid());
    buf_str(b, num);
    /* RLIM_INFINITY is shown as -1. */
    snprintf(num, sizeof num, ", \"nofile_soft\": %lld",
             nofile.rlim_cur == RLIM_INFINITY ? -1LL : (long long)nofile.rlim_cur);
    buf_str(b, num);
    snprintf(num, sizeof num, ", \"nofile_hard\": %lld",
             nofile.rlim_max == RLIM_INFINITY ? -1LL : (long long)nofile.rlim_max);
    buf_str(b, num);
    buf_str(b, write_errno == 0 ? ", \"root_writable\": true, \"root_write_error\": null"
                                : ", \"root_writable\": false, \"root_write_error\": ");
    if (write_errno != 0)
        buf_json_string(b, strerror(write_errno));
    buf_str(b, ", \"hostname\": ");
    buf_json_string(b, host);
    buf_str(b, "}\n");
}

/* GET /info: the process's view of its container. */
static void handle_info(struct response *r) {
    build_info(&r->body);
    r->status = 200;
    r->content_type = "application/json";
}

/* Serializes /hog requests, so two at once do not interleave their accounting. */
static pthread_mutex_t hog_lock = PTHREAD_MUTEX_INITIALIZER;
/* MiB held by /hog so far, over all requests. */
static long hogged_mb;

/* Keeps this thread's CPU busy until it has used `ms` milliseconds of CPU time (not wall time:
 * under a CPU limit it takes longer, as real work does); returns a value that depends on every
 * iteration so the compiler cannot drop the loop. */
static unsigned long burn_cpu(long ms) {
    struct timespec start, now;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
    unsigned long x = 88172645463325252UL;
    for (;;) {
        for (int i = 0; i < 100000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
        long used = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
        if (used >= ms)
            return x;
    }
}

/* Routes one request. `target` is the request target (path and query); it may be modified. */
static void route(const char *method, char *target, struct response *r) {
    char *query = strchr(target, '?');
    if (query != NULL)
        *query++ = '\0';
    long n;
    r->exit_code = -1;

    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 &&
        strcmp(method, "POST") != 0) {
        respond_text(r, 405, "method %s is not allowed\n", method);
    } else if (strcmp(target, "/health") == 0) {
        respond_text(r, 200, "ok\n");
    } else if (strcmp(target, "/") == 0) {
        handle_root(r);
    } else if (strcmp(target, "/env") == 0) {
        handle_env(r);
    } else if (strcmp(target, "/info") == 0) {
        handle_info(r);
    } else if (strcmp(target, "/exit") == 0) {
        if (numeric_param(r, query, "code", 0, 255, &n) == 0) {
            respond_text(r, 200, "exiting with %ld\n", n);
            r->exit_code = (int)n;
        }
    } else if (strcmp(target, "/hog") == 0) {
        if (numeric_param(r, query, "mb", 0, 1L << 20, &n) == 0) {
            pthread_mutex_lock(&hog_lock);
            long got = hog(n, NULL);
            hogged_mb += got;
            long total = hogged_mb;
            pthread_mutex_unlock(&hog_lock);
            if (got == n)
                respond_text(r, 200, "allocated %ld\n", n);
            else
                respond_text(r, 500, "allocated only %ld of %ld MiB\n", got, n);
            printf("hog: holding %ld MiB\n", total);
        }
    } else if (strcmp(target, "/slow") == 0) {
        if (numeric_param(r, query, "ms", 0, 3600L * 1000L, &n) == 0) {
            sleep_ms(n);
            respond_text(r, 200, "slept %ld ms\n", n);
        }
    } else if (strcmp(target, "/burn") == 0) {
        if (numeric_param(r, query, "ms", 0, 60L * 1000L, &n) == 0) {
            unsigned long x = burn_cpu(n);
            respond_text(r, 200, "burned %ld ms (%lu)\n", n, x & 0xff);
        }
    } else if (strcmp(target, "/log") == 0) {
        char text[4096];
        if (query == NULL || query_param(query, "text", text, sizeof text) != 0) {
            respond_text(r, 400, "query parameter text is required\n");
        } else {
            printf("%s\n", text);
            respond_text(r, 200, "logged\n");
        }
    } else if (strcmp(target, "/status") == 0) {
        if (numeric_param(r, query, "code", 100, 599, &n) == 0)
            respond_text(r, (int)n, "status %ld\n", n);
    } else {
        respond_text(r, 404, "not found\n");
    }
    /* Put the target back together for the request log. */
    if (query != NULL)
        query[-1] = '?';
}

/* Writes all of `data`; returns -1 if the connection broke. */
static int write_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Finds the end of the request head ("\r\n\r\n") in the first `len` bytes of `data`; returns
 * the head's length including it, or 0 if it is not there yet. */
static size_t head_length(const char *data, size_t len) {
    for (size_t i = 3; i < len; i++)
        if (data[i - 3] == '\r' && data[i - 2] == '\n' && data[i - 1] == '\r' && data[i] == '\n')
            return i + 1;
    return 0;
}

/* The value of header `name` (case-insensitive) in a request head, copied into `out`;
 * returns 0, or -1 when absent. */
static int header_value(const char *head, const char *name, char *out, size_t size) {
    size_t name_len = strlen(name);
    const char *line = strstr(head, "\r\n");
    while (line != NULL) {
        line += 2;
        if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            const char *v = line + name_len + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *end = strstr(v, "\r\n");
            size_t len = end ? (size_t)(end - v) : strlen(v);
            while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
                len--;
            if (len >= size)
                len = size - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 0;
        }
        line = strstr(line, "\r\n");
    }
    return -1;
}

/* Discards `remaining` body bytes from the connection; returns -1 if it broke. */
static int discard(int fd, long remaining) {
    char scratch[8192];
    while (remaining > 0) {
        size_t want = remaining < (long)sizeof scratch ? (size_t)remaining : sizeof scratch;
        ssize_t n = recv(fd, scratch, want, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        remaining -= n;
    }
    return 0;
}

/* Serves one connection: requests one after another (HTTP/1.1 keep-alive, or one request
 * for HTTP/1.0 and "Connection: close"), until the client closes or goes idle. */
static void *serve_connection(void *arg) {
    int fd = (int)(intptr_t)arg;
    struct timeval idle = {.tv_sec = IDLE_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof idle);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    char *in = malloc(MAX_HEAD + 1);
    size_t have = 0;
    int keep_alive = 1;
    while (in != NULL && keep_alive) {
        /* Read until a whole request head is buffered. */
        size_t head_len;
        while ((head_len = head_length(in, have)) == 0) {
            if (have == MAX_HEAD)
                goto done; /* a head this long is not a request we answer */
            ssize_t n = recv(fd, in + have, MAX_HEAD - have, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                goto done;
            have += (size_t)n;
        }
        char saved = in[head_len];
        in[head_len] = '\0';

        /* Request line: METHOD SP TARGET SP VERSION. */
        char method[16] = "", target[4096] = "", version[16] = "";
        int parsed = sscanf(in, "%15s %4095s %15s", method, target, version);
        char connection[64] = "", length[32] = "", chunked[64] = "";
        header_value(in, "Connection", connection, sizeof connection);
        int has_length = header_value(in, "Content-Length", length, sizeof length) == 0;
        int has_chunked = header_value(in, "Transfer-Encoding", chunked, sizeof chunked) == 0;
        in[head_len] = saved;

        struct response r = {.status = 0, .exit_code = -1};
        long body_len = 0;
        if (parsed != 3 || strncmp(version, "HTTP/1.", 7) != 0 || target[0] != '/') {
            respond_text(&r, 400, "bad request\n");
            keep_alive = 0;
        } else if (has_chunked ||
                   (has_length && parse_long(length, 0, MAX_DISCARD, &body_len) != 0)) {
            /* Bodies are never needed here; only a small, sized one is skipped. */
            respond_text(&r, 413, "request bodies are not supported\n");
            keep_alive = 0;
        } else {
            int http10 = strcmp(version, "HTTP/1.0") == 0;
            keep_alive = http10 ? strcasecmp(connection, "keep-alive") == 0
                                : strcasecmp(connection, "close") != 0;
            route(method, target, &r);
        }
        if (r.exit_code >= 0)
            keep_alive = 0;

        /* Drop this request (head and body) from the buffer. */
        size_t consumed = head_len;
        size_t body_buffered = have - head_len;
        if ((size_t)body_len <= body_buffered) {
            consumed += (size_t)body_len;
            body_len = 0;
        } else {
            consumed = have;
            body_len -= (long)body_buffered;
        }
        memmove(in, in + consumed, have - consumed);
        have -= consumed;

        char head[512];
        int head_n = snprintf(head, sizeof head,
                              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                              "Connection: %s\r\nServer: wharf-testapp\r\n\r\n",
                              r.status, reason_phrase(r.status), r.content_type, r.body.len,
                              keep_alive ? "keep-alive" : "close");
        int ok = write_all(fd, head, (size_t)head_n) == 0;
        if (ok && strcmp(method, "HEAD") != 0 && r.body.len > 0)
            ok = write_all(fd, r.body.data, r.body.len) == 0;
        printf("%s %s %d\n", method[0] ? method : "-", target[0] ? target : "-", r.status);
        free(r.body.data);

        if (r.exit_code >= 0) {
            /* Let the answer leave before the process goes. */
            shutdown(fd, SHUT_WR);
            printf("exiting with %d\n", r.exit_code);
            fflush(stdout);
            exit(r.exit_code);
        }
        if (!ok || (keep_alive && body_len > 0 && discard(fd, body_len) != 0))
            break;
    }
done:
    free(in);
    close(fd);
    return NULL;
}

/* Listens on `port` (all IPv4 addresses) and serves each connection on its own thread. */
static int serve(long port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("testapp: socket");
        return 1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {
        .sin_family = AF_INET,
        .sin_port = htons((uint16_t)port),
        .sin_addr.s_addr = htonl(INADDR_ANY),
    };
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        fprintf(stderr, "testapp: cannot listen on port %ld: %s\n", port, strerror(errno));
        return 1;
    }
    if (listen(fd, 128) != 0) {
        perror("testapp: listen");
        return 1;
    }
    printf("listening on %ld\n", port);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (;;) {
        int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (client < 0) {
            if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE ||
                errno == ENOBUFS || errno == ENOMEM) {
                if (errno != EINTR && errno != ECONNABORTED)
                    sleep_ms(10); /* out of resources: back off instead of spinning */
                continue;
            }
            perror("testapp: accept");
            return 1;
        }
        pthread_t thread;
        if (pthread_create(&thread, &attr, serve_connection, (void *)(intptr_t)client) != 0) {
            fprintf(stderr, "testapp: cannot start a connection thread\n");
            close(client);
        }
    }
}

/* The port `serve` uses: the argument, else $PORT, else 8080. */
static long serve_port(const char *arg) {
    if (arg != NULL)
        return arg_long(arg, 1, 65535, "PORT");
    const char *env = getenv("PORT");
    if (env != NULL && *env != '\0')
        return arg_long(env, 1, 65535, "$PORT");
    return 8080;
}

/* ---------------------------------------------------------------------------------------
 * The other subcommands
 * ------------------------------------------------------------------------------------- */

static int cmd_exit(int argc, char **argv) {
    if (argc < 3)
        usage("exit needs CODE");
    long code = arg_long(argv[2], 0, 255, "CODE");
    long delay = argc > 3 ? arg_long(argv[3], 0, LONG_MAX / 1000000L, "DELAY_MS") : 0;
    printf("exiting with %ld\n", code);
    sleep_ms(delay);
    fflush(stdout);
    return (int)code;
}

static int cmd_log(int argc, char **argv) {
    if (argc < 3)
        usage("log needs COUNT");
    long count = arg_long(argv[2], 0, LONG_MAX, "COUNT");
    long interval = argc > 3 ? arg_long(argv[3], 0, LONG_MAX / 1000000L, "INTERVAL_MS") : 0;
    for (long i = 1; i <= count; i++) {
        printf("line %ld of %ld\n", i, count);
        if (i % 10 == 0)
            fprintf(stderr, "err %ld\n", i);
        if (interval > 0 && i < count)
            sleep_ms(interval);
    }
    return 0;
}

static void hog_progress(long done, long total) { printf("allocated %ld of %ld MiB\n", done, total); }

static int cmd_hog(int argc, char **argv) {
    if (argc < 3)
        usage("hog needs MB");
    long mb = arg_long(argv[2], 0, 1L << 20, "MB");
    long got = hog(mb, hog_progress);
    if (got < mb) {
        fprintf(stderr, "testapp: allocation failed after %ld MiB\n", got);
        return 1;
    }
    printf("holding %ld MiB\n", mb);
    sleep_forever();
    return 0;
}

static int cmd_sleep(int argc, char **argv) {
    if (argc > 2) {
        if (strcmp(argv[2], "--ignore-term") != 0)
            usage("unknown sleep option \"%s\"", argv[2]);
        ignore_term = 1;
    }
    puts(ignore_term ? "sleeping, ignoring SIGTERM" : "sleeping");
    sleep_forever();
    return 0;
}

/* `check PORT [PATH]`: one GET to 127.0.0.1; exit status 0 on a 2xx answer, else 1. */
static int cmd_check(int argc, char **argv) {
    if (argc < 3)
        usage("check needs PORT");
    long port = arg_long(argv[2], 1, 65535, "PORT");
    const char *path = argc > 3 ? argv[3] : "/health";
    if (path[0] != '/' || strpbrk(path, " \r\n") != NULL)
        usage("PATH must start with / and contain no spaces");

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("check: socket");
        return 1;
    }
    struct timeval timeout = {.tv_sec = CHECK_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        printf("check: cannot connect to 127.0.0.1:%ld: %s\n", port, strerror(errno));
        close(fd);
        return 1;
    }
    char request[4352];
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%ld\r\nUser-Agent: testapp-check\r\n"
                     "Connection: close\r\n\r\n",
                     path, port);
    if (n < 0 || (size_t)n >= sizeof request || write_all(fd, request, (size_t)n) != 0) {
        printf("check: cannot send the request\n");
        close(fd);
        return 1;
    }
    /* Only the status line matters: "HTTP/1.x NNN ...". */
    char answer[256];
    size_t have = 0;
    while (have < sizeof answer - 1 && memchr(answer, '\n', have) == NULL) {
        ssize_t got = recv(fd, answer + have, sizeof answer - 1 - have, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
    }
    close(fd);
    answer[have] = '\0';
    int status = 0;
    if (sscanf(answer, "HTTP/1.%*d %d", &status) != 1) {
        printf("check: no HTTP answer from 127.0.0.1:%ld%s\n", port, path);
        return 1;
    }
    printf("check: GET %s -> %d\n", path, status);
    return status >= 200 && status < 300 ? 0 : 1;
}

static int cmd_env(void) {
    for (char **e = environ; e != NULL && *e != NULL; e++)
        printf("%s\n", *e);
    return 0;
}

static int cmd_info(void) {
    struct buf b = {0};
    build_info(&b);
    fputs(b.data ? b.data : "", stdout);
    free(b.data);
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * The curl personality (see the top of the file)
 * ------------------------------------------------------------------------------------- */

/* curl's exit statuses, as far as they are reproduced. */
enum {
    CURL_UNSUPPORTED_PROTOCOL = 1,
    CURL_BAD_OPTION = 2,
    CURL_URL_MALFORMAT = 3,
    CURL_COULDNT_RESOLVE_HOST = 6,
    CURL_COULDNT_CONNECT = 7,
    CURL_HTTP_RETURNED_ERROR = 22,
    CURL_WRITE_ERROR = 23,
    CURL_OPERATION_TIMEDOUT = 28,
    CURL_GOT_NOTHING = 52,
    CURL_RECV_ERROR = 56,
};

/* How curl reports a failure: "curl: (CODE) message" on stderr unless silenced (-s without
 * -S). */
static int curl_silent, curl_show_error;

__attribute__((format(printf, 2, 3))) static int curl_fail(int code, const char *fmt, ...) {
    if (!curl_silent || curl_show_error) {
        va_list ap;
        fprintf(stderr, "curl: (%d) ", code);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    return code;
}

static int curl_main(int argc, char **argv) {
    int fail_on_error = 0;
    const char *output = NULL;
    const char *url = NULL;
    long max_time = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        /* The value of an option that takes one: the rest of this word, else the next. */
        const char *value = NULL;
        if (strcmp(arg, "--fail") == 0) {
            fail_on_error = 1;
        } else if (strcmp(arg, "--silent") == 0) {
            curl_silent = 1;
        } else if (strcmp(arg, "--show-error") == 0) {
            curl_show_error = 1;
        } else if (strcmp(arg, "--location") == 0) {
            /* Redirects are never followed; the option is accepted. */
        } else if (strcmp(arg, "--output") == 0 || strcmp(arg, "--max-time") == 0) {
            if (i + 1 >= argc)
                return curl_fail(CURL_BAD_OPTION, "option %s: requires parameter", arg);
            value = argv[++i];
            if (arg[2] == 'o')
                output = value;
            else if (parse_long(value, 1, 86400, &max_time) != 0)
                return curl_fail(CURL_BAD_OPTION, "option %s: expected a proper numerical parameter", arg);
        } else if (arg[0] == '-' && arg[1] == '-') {
            return curl_fail(CURL_BAD_OPTION, "option %s: is unknown", arg);
        } else if (arg[0] == '-' && arg[1] != '\0') {
            for (const char *f = arg + 1; *f; f++) {
                switch (*f) {
                case 'f': fail_on_error = 1; break;
                case 's': curl_silent = 1; break;
                case 'S': curl_show_error = 1; break;
                case 'L': break;
                case 'o':
                case 'm':
                    if (f[1] != '\0')
                        value = f + 1;
                    else if (i + 1 < argc)
                        value = argv[++i];
                    else
                        return curl_fail(CURL_BAD_OPTION, "option -%c: requires parameter", *f);
                    if (*f == 'o')
                        output = value;
                    else if (parse_long(value, 1, 86400, &max_time) != 0)
                        return curl_fail(CURL_BAD_OPTION, "option -m: expected a proper numerical parameter");
                    goto next_word; /* the rest of the word, if any, was the value */
                default:
                    return curl_fail(CURL_BAD_OPTION, "option -%c: is unknown", *f);
                }
            }
        } else if (url == NULL) {
            url = arg;
        } else {
            return curl_fail(CURL_BAD_OPTION, "only one URL is supported, not also \"%s\"", arg);
        }
    next_word:;
    }
    if (url == NULL)
        return curl_fail(CURL_BAD_OPTION, "no URL specified");

    /* [http://]HOST[:PORT][/PATH] */
    const char *rest = url;
    const char *scheme_end = strstr(url, "://");
    if (scheme_end != NULL) {
        if ((size_t)(scheme_end - url) != 4 || strncasecmp(url, "http", 4) != 0)
            return curl_fail(CURL_UNSUPPORTED_PROTOCOL, "Protocol \"%.*s\" not supported",
                             (int)(scheme_end - url), url);
        rest = scheme_end + 3;
    }
    size_t host_len = strcspn(rest, ":/?");
    char host[256];
    if (host_len == 0 || host_len >= sizeof host)
        return curl_fail(CURL_URL_MALFORMAT, "URL rejected: Bad hostname");
    memcpy(host, rest, host_len);
    host[host_len] = '\0';
    rest += host_len;
    long port = 80;
    if (*rest == ':') {
        char digits[8];
        size_t n = strcspn(rest + 1, "/?");
        if (n == 0 || n >= sizeof digits)
            return curl_fail(CURL_URL_MALFORMAT, "URL rejected: Port number was not a decimal number between 0 and 65535");
        memcpy(digits, rest + 1, n);
        digits[n] = '\0';
        if (parse_long(digits, 1, 65535, &port) != 0)
            return curl_fail(CURL_URL_MALFORMAT, "URL rejected: Port number was not a decimal number between 0 and 65535");
        rest += 1 + n;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s%s", *rest == '/' ? "" : "/", rest);
    if (strpbrk(path, " \r\n") != NULL)
        return curl_fail(CURL_URL_MALFORMAT, "URL rejected: Malformed input to a URL function");

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    const char *ip = strcasecmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1)
        return curl_fail(CURL_COULDNT_RESOLVE_HOST, "Could not resolve host: %s", host);

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return curl_fail(CURL_COULDNT_CONNECT, "socket: %s", strerror(errno));
    struct timeval timeout = {.tv_sec = max_time > 0 ? max_time : 60};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        int e = errno;
        close(fd);
        if (e == EINPROGRESS || e == EAGAIN || e == ETIMEDOUT)
            return curl_fail(CURL_OPERATION_TIMEDOUT, "Failed to connect to %s port %ld after %ld ms: Timeout was reached",
                             host, port, (long)timeout.tv_sec * 1000);
        return curl_fail(CURL_COULDNT_CONNECT, "Failed to connect to %s port %ld: %s", host, port, strerror(e));
    }
    char request[4608];
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: %s:%ld\r\nUser-Agent: curl/testapp\r\nAccept: */*\r\n"
                     "Connection: close\r\n\r\n",
                     path, host, port);
    if (n < 0 || (size_t)n >= sizeof request || write_all(fd, request, (size_t)n) != 0) {
        close(fd);
        return curl_fail(CURL_RECV_ERROR, "Failure when sending data to the peer");
    }
    /* The whole answer: the server closes the connection after it (Connection: close). */
    struct buf answer = {0};
    char chunk[8192];
    for (;;) {
        ssize_t got = recv(fd, chunk, sizeof chunk, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            close(fd);
            free(answer.data);
            if (e == EAGAIN || e == EWOULDBLOCK)
                return curl_fail(CURL_OPERATION_TIMEDOUT, "Operation timed out after %ld milliseconds",
                                 (long)timeout.tv_sec * 1000);
            return curl_fail(CURL_RECV_ERROR, "Failure when receiving data from the peer");
        }
        if (got == 0)
            break;
        if (buf_add(&answer, chunk, (size_t)got) != 0) {
            close(fd);
            free(answer.data);
            return curl_fail(CURL_RECV_ERROR, "out of memory");
        }
    }
    close(fd);
    int status = 0;
    if (answer.len == 0 || sscanf(answer.data, "HTTP/1.%*d %d", &status) != 1) {
        free(answer.data);
        return curl_fail(CURL_GOT_NOTHING, "Empty reply from server");
    }
    if (fail_on_error && status >= 400) {
        free(answer.data);
        return curl_fail(CURL_HTTP_RETURNED_ERROR, "The requested URL returned error: %d", status);
    }
    size_t head = head_length(answer.data, answer.len);
    const char *body = head ? answer.data + head : "";
    size_t body_len = head ? answer.len - head : 0;
    FILE *out = stdout;
    if (output != NULL && strcmp(output, "-") != 0) {
        out = fopen(output, "wb");
        if (out == NULL) {
            free(answer.data);
            return curl_fail(CURL_WRITE_ERROR, "Failed writing body: %s: %s", output, strerror(errno));
        }
    }
    int ok = fwrite(body, 1, body_len, out) == body_len;
    ok = (out == stdout ? fflush(out) : fclose(out)) == 0 && ok;
    free(answer.data);
    return ok ? 0 : curl_fail(CURL_WRITE_ERROR, "Failed writing body");
}

static int cmd_wait_file(int argc, char **argv) {
    if (argc < 3)
        usage("wait-file needs PATH");
    long port = serve_port(argc > 3 ? argv[3] : NULL);
    struct stat st;
    printf("waiting for %s\n", argv[2]);
    while (stat(argv[2], &st) != 0)
        sleep_ms(100);
    printf("found %s\n", argv[2]);
    return serve(port);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    setvbuf(stderr, NULL, _IONBF, 0);
    setup_signals();

    const char *self = strrchr(argv[0], '/');
    self = self != NULL ? self + 1 : argv[0];
    if (strcmp(self, "curl") == 0)
        return curl_main(argc, argv);

    const char *cmd = argc > 1 ? argv[1] : "serve";
    if (strcmp(cmd, "serve") == 0)
        return serve(serve_port(argc > 2 ? argv[2] : NULL));
    if (strcmp(cmd, "exit") == 0)
        return cmd_exit(argc, argv);
    if (strcmp(cmd, "log") == 0)
        return cmd_log(argc, argv);
    if (strcmp(cmd, "hog") == 0)
        return cmd_hog(argc, argv);
    if (strcmp(cmd, "sleep") == 0)
        return cmd_sleep(argc, argv);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc, argv);
    if (strcmp(cmd, "env") == 0)
        return cmd_env();
    if (strcmp(cmd, "info") == 0)
        return cmd_info();
    if (strcmp(cmd, "wait-file") == 0)
        return cmd_wait_file(argc, argv);
    usage("unknown subcommand \"%s\"", cmd);
    return 2;
}
