/* Logging, time helpers and the names of the errors. Log lines go to stderr, one per event:
 * time, level, module, message with key=value fields. */
#include "kc.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static enum kc_log_level log_level = KC_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void kc_log_set_level(enum kc_log_level lvl) { log_level = lvl; }

int kc_log_level_parse(const char *s, enum kc_log_level *out)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (!strcasecmp(s, names[i])) { *out = (enum kc_log_level)i; return 0; }
    return KC_EINVAL;
}

void kc_log(enum kc_log_level lvl, const char *module, const char *fmt, ...)
{
    static const char *tags[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
    if (lvl < log_level)
        return;
    char ts[32], msg[2048];
    kc_format_iso(kc_now_ms(), ts, sizeof ts);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s %s %s: %s\n", ts, tags[lvl], module, msg);
    pthread_mutex_unlock(&log_lock);
}

int64_t kc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int kc_format_iso(int64_t ms, char *buf, size_t len)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    int n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(ms % 1000));
    return n < 0 || (size_t)n >= len ? KC_ERR : 0;
}

int kc_parse_duration(const char *s, int64_t *seconds)
{
    int64_t total = 0;
    const char *p = s;
    if (!*p)
        return KC_EINVAL;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return KC_EINVAL;
        errno = 0;
        char *end;
        long long v = strtoll(p, &end, 10);
        if (errno || v < 0 || v > 100000000)
            return KC_EINVAL;
        int64_t mul = 1;
        switch (*end) {
        case 'd': mul = 86400; end++; break;
        case 'h': mul = 3600; end++; break;
        case 'm': mul = 60; end++; break;
        case 's': end++; break;
        case '\0': if (p != s) return KC_EINVAL; break;   /* bare number only alone */
        default: return KC_EINVAL;
        }
        total += v * mul;
        p = end;
    }
    *seconds = total;
    return 0;
}

int kc_parse_time(const char *s, int64_t now_ms, int64_t *out)
{
    if (!strcmp(s, "now")) { *out = now_ms; return 0; }
    if (*s == '+') {
        int64_t secs;
        if (kc_parse_duration(s + 1, &secs)) return KC_EINVAL;
        *out = now_ms + secs * 1000;
        return 0;
    }
    /* YYYY-MM-DD[T ]HH:MM[:SS][Z] taken as UTC */
    struct tm tm = {0};
    int sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%*1[T ]%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &n) != 5)
        return KC_EINVAL;
    const char *rest = s + n;
    if (*rest == ':') {
        int m = 0;
        if (sscanf(rest, ":%2d%n", &sec, &m) != 1) return KC_EINVAL;
        rest += m;
    }
    if (*rest == 'Z') rest++;
    if (*rest) return KC_EINVAL;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || sec > 59)
        return KC_EINVAL;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_sec = sec;
    *out = (int64_t)timegm(&tm) * 1000;
    return 0;
}

const char *kc_strerror(int rc)
{
    switch (rc) {
    case KC_OK: return "ok";
    case KC_ERR: return "failed";
    case KC_ENOMEM: return "out of memory";
    case KC_EDB: return "database error";
    case KC_ELOST: return "database connection lost";
    case KC_ENOTFOUND: return "not found";
    case KC_EINVAL: return "invalid input";
    case KC_ERETRY: return "transient database error (deadlock or lock wait timeout)";
    case KC_EBUSY: return "busy";
    default: return "unknown error";
    }
}
