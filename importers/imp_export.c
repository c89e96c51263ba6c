/* Export: imp_export_file dispatches by format; the output buffer the text exporters share. */
#include "imp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- imp_buf ---- */

static int buf_reserve(imp_buf *b, size_t more)
{
    if (b->oom) return -1;
    if (more < b->cap - b->len) return 0;      /* room for the bytes and the NUL */
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len <= more) {
        if (cap > ((size_t)-1) / 2) { b->oom = 1; return -1; }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) { b->oom = 1; return -1; }
    b->p = p;
    b->cap = cap;
    return 0;
}

void imp__buf_put(imp_buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n)) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void imp__buf_puts(imp_buf *b, const char *s) { imp__buf_put(b, s, strlen(s)); }

void imp__buf_printf(imp_buf *b, const char *fmt, ...)
{
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) { b->oom = 1; return; }
    if (buf_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void imp__buf_free(imp_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

int imp__buf_write_file(const imp_buf *b, const char *path, bank_diag *d)
{
    if (b->oom) {
        bank_diag_add(d, path, 0, "file", "out of memory while writing the export");
        return -1;
    }
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 48);
    if (!tmp) return -1;
    /* open(O_EXCL) rather than mkstemp: the file gets the usual umask-based mode */
    static unsigned counter;
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        snprintf(tmp, plen + 48, "%s.tmp%ld.%u", path, (long)getpid(),
                 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        bank_diag_add(d, path, 0, "file", "cannot create: %s", strerror(errno));
        free(tmp);
        return -1;
    }
    size_t off = 0;
    int e = 0;
    while (off < b->len) {
        ssize_t n = write(fd, b->p + off, b->len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { e = errno; break; }
        off += (size_t)n;
    }
    if (close(fd) && !e) e = errno;
    if (!e && rename(tmp, path)) e = errno;
    if (e) {
        unlink(tmp);
        bank_diag_add(d, path, 0, "file", "cannot write: %s", strerror(e));
    }
    free(tmp);
    return e ? -1 : 0;
}

/* ---- dispatch ---- */

int imp_export_file(imp_format f, const bank_itemset *set, const char *path, bank_diag *d)
{
    switch (f) {
    case IMP_GIFT: return imp__export_gift(set, path, d);
    case IMP_MOODLEXML: return imp__export_moodlexml(set, path, d);
    case IMP_QTI: return imp__export_qti(set, path, d);
    default:
        bank_diag_add(d, path, 0, "format", "%s cannot be exported by this build",
                      imp_format_name(f));
        return -1;
    }
}
