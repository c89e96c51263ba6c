/* The printable schedules of a stored practical plan (docs/PRACTICAL.md): for examiners per
 * station and slot, for candidates per candidate and task; as text, CSV or a self-contained
 * A4 HTML page. */
#include "bank_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SQL_PLAN                                                                             \
    "SELECT p.station_code, st.position, p.slot_no, p.task_no, p.starts_at, p.ends_at,"       \
    " a.ticket_no, c.name, i.uid, LEFT(i.stem, 4000),"                                        \
    " COALESCE(JSON_VALUE(i.spec, '$.equipment'), '')"                                        \
    " FROM practical_assignment p JOIN practical_station st"                                  \
    "   ON st.session_id = p.session_id AND st.code = p.station_code"                         \
    " JOIN attempt a ON a.id = p.attempt_id JOIN candidate c ON c.id = a.candidate_id"        \
    " JOIN item i ON i.id = p.item_id WHERE p.session_id = ?"
static const char SQL_PLAN_BY_STATION[] = SQL_PLAN " ORDER BY st.position, p.slot_no";
static const char SQL_PLAN_BY_CANDIDATE[] = SQL_PLAN " ORDER BY a.ticket_no, p.task_no";

int bank_schedule_format_parse(const char *s, enum bank_schedule_format *out)
{
    if (!strcmp(s, "text")) *out = BANK_SCHEDULE_TEXT;
    else if (!strcmp(s, "csv")) *out = BANK_SCHEDULE_CSV;
    else if (!strcmp(s, "html")) *out = BANK_SCHEDULE_HTML;
    else return KC_EINVAL;
    return 0;
}

int bank_practical_entries_load(kc_db *db, uint64_t session_id, int examiners, kc_arena *a,
                                bank_practical_entry **out, size_t *n)
{
    const char *sql = examiners ? SQL_PLAN_BY_STATION : SQL_PLAN_BY_CANDIDATE;
    bank_practical_entry *rows = NULL;
    size_t cap = 0;
    char st[33], ticket[33], name[129], uid[65], stem[4001], equip[1024];
    bank_practical_entry r;
    memset(&r, 0, sizeof r);
    *out = NULL;
    *n = 0;
    int rc = kc_db_query(db, sql, "u", "sii" "itt" "sssss", session_id, st, sizeof st, &r.position,
                          &r.slot, &r.task_no, &r.starts, &r.ends, ticket, sizeof ticket, name,
                          sizeof name, uid, sizeof uid, stem, sizeof stem, equip, sizeof equip);
    while (!rc && (rc = kc_db_fetch(db, sql)) == 1) {
        rc = 0;
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            bank_practical_entry *g = kc_arena_alloc(a, cap * sizeof *g);
            if (!g) { rc = KC_ENOMEM; break; }
            if (*n) memcpy(g, rows, *n * sizeof *g);
            rows = g;
        }
        r.station = kc_arena_strdup(a, st);
        r.ticket = kc_arena_strdup(a, ticket);
        r.name = kc_arena_strdup(a, name);
        r.uid = kc_arena_strdup(a, uid);
        r.title = bank__text_excerpt(a, stem, examiners ? 64 : 96);
        r.equipment = kc_arena_strdup(a, equip);
        if (!r.station || !r.ticket || !r.name || !r.uid || !r.equipment) { rc = KC_ENOMEM; break; }
        rows[(*n)++] = r;
    }
    kc_db_done(db, sql);
    *out = rows;
    return rc < 0 ? rc : 0;
}

/* Display columns of UTF-8 text: East Asian wide characters take two. */
static int width(const char *s)
{
    int w = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        uint32_t cp;
        int n = bank_utf8_decode(p, SIZE_MAX, &cp);
        if (n < 1) { n = 1; cp = '?'; }
        p += n;
        w += (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
             (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
             (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
             (cp >= 0xFFE0 && cp <= 0xFFE6) ? 2 : 1;
    }
    return w;
}

static void pad(kc_buf *f, const char *s, int cols)
{
    kc_buf_str(f, s);
    for (int w = width(s); w < cols; w++) kc_buf_add(f, " ", 1);
    kc_buf_str(f, "  ");
}

static void clock_of(int64_t ms, int offset_min, char *buf, size_t len, int with_date)
{
    time_t t = (time_t)(ms / 1000) + (time_t)offset_min * 60;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, with_date ? "%Y-%m-%d %H:%M" : "%H:%M", &tm);
}

/* "2026-12-05 09:00–10:30" (the end's date is shown when it differs) */
static void span(const bank_practical_entry *r, int offset_min, char *buf, size_t len)
{
    char a[20], b[20], da[16], db_[16];
    clock_of(r->starts, offset_min, a, sizeof a, 1);
    clock_of(r->ends, offset_min, b, sizeof b, 1);
    memcpy(da, a, 10); da[10] = 0;
    memcpy(db_, b, 10); db_[10] = 0;
    snprintf(buf, len, "%s–%s", a, strcmp(da, db_) ? b : b + 11);
}

static void csv(kc_buf *f, const char *s, int last)
{
    if (strpbrk(s, ",\"\n\r")) {
        kc_buf_add(f, "\"", 1);
        for (; *s; s++) { if (*s == '"') kc_buf_add(f, "\"", 1); kc_buf_add(f, s, 1); }
        kc_buf_add(f, "\"", 1);
    } else {
        kc_buf_str(f, s);
    }
    kc_buf_str(f, last ? "\r\n" : ",");
}

static void html(kc_buf *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '&': kc_buf_str(f, "&amp;"); break;
        case '<': kc_buf_str(f, "&lt;"); break;
        case '>': kc_buf_str(f, "&gt;"); break;
        case '"': kc_buf_str(f, "&quot;"); break;
        case '\'': kc_buf_str(f, "&#39;"); break;
        default: kc_buf_add(f, s, 1);
        }
}

static const char HTML_STYLE[] =
    "<style>\n"
    "@page { size: A4; margin: 15mm; }\n"
    "body { font-family: 'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif;"
    " font-size: 11pt; color: #000; margin: 0; }\n"
    "h1 { font-size: 16pt; margin: 0 0 2mm; }\n"
    "h2 { font-size: 13pt; margin: 0 0 3mm; font-weight: normal; }\n"
    ".meta { margin: 0 0 4mm; }\n"
    "table { border-collapse: collapse; width: 100%; }\n"
    "th, td { border: 1px solid #000; padding: 1.5mm 2mm; text-align: left; vertical-align: top; }\n"
    "th { background: #eee; white-space: nowrap; }\n"
    "td.blank { min-width: 18mm; }\n"
    "td.nw { white-space: nowrap; }\n"
    "th small { font-weight: normal; }\n"
    "section { break-after: page; page-break-after: always; }\n"
    "section:last-child { break-after: auto; page-break-after: auto; }\n"
    "tr { break-inside: avoid; page-break-inside: avoid; }\n"
    ".sign { margin-top: 8mm; }\n"
    "@media screen { body { max-width: 200mm; margin: 10mm auto; } section { border-bottom: 1px dashed #999; padding-bottom: 8mm; margin-bottom: 8mm; } }\n"
    "</style>\n";

static void th(kc_buf *f, const char *zh, const char *en)
{
    kc_buf_str(f, "<th>");
    html(f, zh);
    kc_buf_str(f, "<br><small>");
    html(f, en);
    kc_buf_str(f, "</small></th>");
}

static void td(kc_buf *f, const char *s)
{
    kc_buf_str(f, "<td>");
    html(f, s);
    kc_buf_str(f, "</td>");
}

/* A short cell that must not wrap (ticket, name, station, slot). */
static void tdn(kc_buf *f, const char *s)
{
    kc_buf_str(f, "<td class=\"nw\">");
    html(f, s);
    kc_buf_str(f, "</td>");
}

int bank_practical_schedule(kc_buf *f, const char *code, const char *title,
                            const bank_practical_entry *r, size_t n, int examiners,
                            enum bank_schedule_format format, int offset_min)
{
    char tz[16];
    if (!offset_min) snprintf(tz, sizeof tz, "UTC");
    else if (offset_min % 60) snprintf(tz, sizeof tz, "UTC%+d:%02d", offset_min / 60, abs(offset_min % 60));
    else snprintf(tz, sizeof tz, "UTC%+d", offset_min / 60);
    char when[64], a[32], b[32], slot[16], no[16];
    const char *head = examiners ? "实操考核工位安排表 Practical schedule for examiners"
                                 : "实操考核考生安排表 Practical schedule for candidates";
    kc_buf_str(f, "");
    if (format == BANK_SCHEDULE_CSV) {
        if (examiners) {
            static const char *h[] = {"工位", "时段", "开始", "结束", "准考证号", "姓名", "试题编号", "试题"};
            for (int i = 0; i < 8; i++) csv(f, h[i], i == 7);
        } else {
            static const char *h[] = {"准考证号", "姓名", "序号", "工位", "时段", "开始", "结束", "试题编号", "试题", "设备要求"};
            for (int i = 0; i < 10; i++) csv(f, h[i], i == 9);
        }
        for (size_t i = 0; i < n; i++) {
            kc_format_iso(r[i].starts, a, sizeof a);
            kc_format_iso(r[i].ends, b, sizeof b);
            snprintf(slot, sizeof slot, "%lld", (long long)r[i].slot);
            snprintf(no, sizeof no, "%lld", (long long)r[i].task_no);
            if (examiners) {
                const char *v[] = {r[i].station, slot, a, b, r[i].ticket, r[i].name, r[i].uid, r[i].title};
                for (int k = 0; k < 8; k++) csv(f, v[k], k == 7);
            } else {
                const char *v[] = {r[i].ticket, r[i].name, no, r[i].station, slot, a, b, r[i].uid,
                                   r[i].title, r[i].equipment};
                for (int k = 0; k < 10; k++) csv(f, v[k], k == 9);
            }
        }
        return f->oom ? KC_ENOMEM : 0;
    }
    if (format == BANK_SCHEDULE_TEXT) {
        kc_buf_printf(f, "%s\n场次 Session: %s %s\n时间 Times: %s\n", head, code, title, tz);
        for (size_t i = 0; i < n; i++) {
            int first = !i || strcmp(examiners ? r[i].station : r[i].ticket,
                                     examiners ? r[i - 1].station : r[i - 1].ticket);
            span(&r[i], offset_min, when, sizeof when);
            snprintf(slot, sizeof slot, "%lld", (long long)r[i].slot);
            if (examiners) {
                if (first) {
                    kc_buf_printf(f, "\n%s\n", r[i].station);
                    pad(f, "时段", 6); pad(f, "时间 Time", 24); pad(f, "准考证号", 12);
                    pad(f, "姓名 Name", 12); kc_buf_str(f, "试题 Task\n");
                }
                pad(f, slot, 6); pad(f, when, 24); pad(f, r[i].ticket, 12); pad(f, r[i].name, 12);
                kc_buf_printf(f, "%s %s\n", r[i].uid, r[i].title);
            } else {
                if (first) kc_buf_printf(f, "\n%s %s\n", r[i].ticket, r[i].name);
                kc_buf_printf(f, "  %lld. %s  时段 %s  %s  %s %s\n", (long long)r[i].task_no, r[i].station,
                              slot, when, r[i].uid, r[i].title);
                if (r[i].equipment[0]) kc_buf_printf(f, "     设备要求 Equipment: %s\n", r[i].equipment);
            }
        }
        return f->oom ? KC_ENOMEM : 0;
    }
    /* html: one page per station (examiners) or one table of everyone (candidates) */
    kc_buf_str(f, "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
    html(f, head);
    kc_buf_str(f, " — ");
    html(f, code);
    kc_buf_str(f, "</title>\n");
    kc_buf_str(f, HTML_STYLE);
    kc_buf_str(f, "</head>\n<body>\n");
    for (size_t i = 0; i < n; i++) {
        int first = !i || (examiners && strcmp(r[i].station, r[i - 1].station));
        span(&r[i], offset_min, when, sizeof when);
        snprintf(slot, sizeof slot, "%lld", (long long)r[i].slot);
        if (first) {
            if (i) kc_buf_str(f, "</tbody></table>\n<p class=\"sign\">考评员签字 Examiner: ____________</p>\n</section>\n");
            kc_buf_str(f, "<section>\n<h1>");
            html(f, head);
            kc_buf_str(f, "</h1>\n<h2>");
            if (examiners) { html(f, r[i].station); kc_buf_str(f, " · "); }
            html(f, code);
            kc_buf_str(f, " ");
            html(f, title);
            kc_buf_str(f, "</h2>\n<p class=\"meta\">时间 Times: ");
            html(f, tz);
            kc_buf_str(f, "</p>\n<table>\n<thead><tr>");
            if (examiners) {
                th(f, "时段", "Slot"); th(f, "时间", "Time"); th(f, "准考证号", "Ticket");
                th(f, "姓名", "Name"); th(f, "试题", "Task"); th(f, "签到", "Present");
                th(f, "得分", "Score");
            } else {
                th(f, "准考证号", "Ticket"); th(f, "姓名", "Name"); th(f, "序号", "No.");
                th(f, "工位", "Station"); th(f, "时段", "Slot"); th(f, "时间", "Time");
                th(f, "试题", "Task"); th(f, "设备要求", "Equipment");
            }
            kc_buf_str(f, "</tr></thead>\n<tbody>\n");
        }
        char task[1200];
        snprintf(task, sizeof task, "%s %s", r[i].uid, r[i].title);
        kc_buf_str(f, "<tr>");
        if (examiners) {
            tdn(f, slot); td(f, when); tdn(f, r[i].ticket); tdn(f, r[i].name); td(f, task);
            kc_buf_str(f, "<td class=\"blank\"></td><td class=\"blank\"></td>");
        } else {
            snprintf(no, sizeof no, "%lld", (long long)r[i].task_no);
            tdn(f, r[i].ticket); tdn(f, r[i].name); tdn(f, no); tdn(f, r[i].station); tdn(f, slot);
            td(f, when); td(f, task); td(f, r[i].equipment);
        }
        kc_buf_str(f, "</tr>\n");
    }
    if (n) kc_buf_str(f, "</tbody></table>\n");
    if (n && examiners) kc_buf_str(f, "<p class=\"sign\">考评员签字 Examiner: ____________</p>\n");
    if (n) kc_buf_str(f, "</section>\n");
    kc_buf_str(f, "</body>\n</html>\n");
    return f->oom ? KC_ENOMEM : 0;
}
