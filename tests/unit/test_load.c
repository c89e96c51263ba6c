/* The load generator's pure parts (tests/load/ld_proto.c): latency histograms, the JSON
 * scanner and the messages it reads, the answers it sends, WebSocket frames and the
 * handshake key. A wrong percentile or a misread ack would make bench=delivery lie. */
#include <criterion/criterion.h>
#include <string.h>

#include "../load/ld_proto.c"

/* ---- histograms ---- */

Test(load_hist, buckets_cover_every_value_within_three_percent)
{
    for (uint64_t v = 0; v < 50000000; v = v < 200 ? v + 1 : v + v / 97 + 1) {
        int i = ld_hist_index(v);
        uint64_t hi = ld_hist_upper(i), lo = i ? ld_hist_upper(i - 1) + 1 : 0;
        cr_assert(lo <= v && v <= hi, "v=%llu in bucket %d [%llu, %llu]", (unsigned long long)v, i,
                  (unsigned long long)lo, (unsigned long long)hi);
        if (v >= 64) cr_assert_leq((double)(hi - lo + 1) / (double)lo, 1.0 / 32 + 1e-9, "v=%llu", (unsigned long long)v);
    }
    cr_assert_eq(ld_hist_index(UINT64_MAX), LD_H_BUCKETS - 1);
}

Test(load_hist, percentiles_of_known_samples)
{
    static ld_hist a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    /* 1 .. 1000 ms, split over two histograms as over two processes */
    for (uint64_t ms = 1; ms <= 1000; ms++) ld_hist_add(ms % 2 ? &a : &b, ms * 1000);
    ld_hist_merge(&a, &b);
    cr_assert_eq(a.n, 1000);
    cr_assert_eq(a.max_us, 1000000);
    struct { double p; double want; } cases[] = {{50, 500000}, {95, 950000}, {99, 990000}, {100, 1000000}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = (double)ld_hist_pct(&a, cases[i].p);
        cr_assert(got >= cases[i].want && got <= cases[i].want * (1 + 1.0 / 32),
                  "p%g: %g, want %g (+3 %%)", cases[i].p, got, cases[i].want);
    }
    cr_assert_eq(ld_hist_pct(&b, 100), 1000000, "never above the largest sample");
    static ld_hist empty;
    cr_assert_eq(ld_hist_pct(&empty, 99), 0);
    static ld_hist one;
    ld_hist_add(&one, 12345);
    cr_assert_eq(ld_hist_pct(&one, 50), 12345);
}

/* ---- messages ---- */

static ld_leaves L;

static int parse(const char *s, ld_msg *m)
{
    L.n = 0;
    return ld_parse_msg(s, strlen(s), m, &L);
}

Test(load_msg, ack_applied_present_absent)
{
    ld_msg m;
    cr_assert_eq(parse("{\"type\":\"ack\",\"id\":36,\"item\":17,\"seq\":4}", &m), 0);
    cr_assert_eq(m.kind, LD_M_ACK);
    cr_assert_eq(m.item, 17);
    cr_assert_eq(m.seq, 4);
    cr_assert(m.has_id && m.id == 36);
    cr_assert_eq(m.applied, 1, "a server without \"applied\" stores every acknowledged answer");
    cr_assert_eq(parse(" { \"seq\" : 9 , \"applied\" : false, \"type\" : \"ack\", \"item\": 3 } ", &m), 0);
    cr_assert_eq(m.applied, 0);
    cr_assert_eq(m.seq, 9);
    cr_assert_eq(parse("{\"type\":\"ack\",\"item\":3,\"seq\":9,\"applied\":true}", &m), 0);
    cr_assert_eq(m.applied, 1);
}

Test(load_msg, welcome_error_time)
{
    ld_msg m;
    cr_assert_eq(parse("{\"type\":\"welcome\",\"id\":9,\"token\":\"12.1764000000000.ab\\/cd\","
                       "\"candidate\":{\"name\":\"\\u5f20\\u4e09\",\"ticket\":\"X\"},"
                       "\"session\":{\"code\":\"D\",\"opens_at\":1,\"closes_at\":2},"
                       "\"attempt\":{\"status\":\"not_started\",\"deadline\":null},\"server_time\":5}", &m), 0);
    cr_assert_eq(m.kind, LD_M_WELCOME);
    cr_assert_str_eq(m.token, "12.1764000000000.ab/cd");
    cr_assert_eq(parse("{\"type\":\"error\",\"id\":20,\"code\":\"bad_field\",\"field\":\"seq\","
                       "\"message\":\"seq: expected \\\"1\\\" \\u2026\"}", &m), 0);
    cr_assert_eq(m.kind, LD_M_ERROR);
    cr_assert_str_eq(m.code, "bad_field");
    cr_assert_str_eq(m.message, "seq: expected \"1\" \xe2\x80\xa6");
    cr_assert_eq(m.id & 7, 4);
    cr_assert_eq(parse("{\"type\":\"time\",\"server_time\":1,\"deadline\":null}", &m), 0);
    cr_assert_eq(m.kind, LD_M_TIME);
    cr_assert_not(m.has_id);
    cr_assert_eq(parse("{\"type\":\"submitted\",\"reason\":\"deadline\"}", &m), 0);
    cr_assert_eq(m.kind, LD_M_SUBMITTED);
    cr_assert_eq(parse("{\"type\":\"bank_list\",\"paper\":null}", &m), 0);
    cr_assert_eq(m.kind, LD_M_OTHER);
}

static const char PAPER[] =
    "{\"type\":\"paper\",\"id\":27,\"attempt\":{\"status\":\"in_progress\",\"deadline\":1,\"submitted_at\":null},"
    "\"server_time\":2,\"paper\":{\"title\":\"T \\\"q\\\" [x] {y}\",\"total_points\":10,\"items\":["
    "{\"item\":11,\"no\":1,\"section\":\"一\",\"type\":\"single\",\"stem\":\"<p>a, b: [c]</p>\","
    " \"options\":[{\"key\":\"A\",\"text\":\"x\"},{\"key\":\"B\",\"text\":\"}\"},{\"key\":\"C\",\"text\":\"\\ud83d\\ude00\"}],\"points\":1},"
    "{\"item\":12,\"type\":\"multi\",\"options\":[{\"key\":\"A\",\"text\":\"1\"},{\"key\":\"B\",\"text\":\"2\"},"
    "{\"key\":\"C\",\"text\":\"3\"},{\"key\":\"D\",\"text\":\"4\"},{\"key\":\"E\",\"text\":\"5\"}],\"points\":2},"
    "{\"item\":13,\"type\":\"tf\",\"stem\":\"s\",\"points\":1},"
    "{\"item\":14,\"type\":\"fill\",\"blanks\":3,\"points\":3},"
    "{\"item\":15,\"type\":\"composite\",\"stem\":\"case\",\"points\":3,\"children\":["
    "  {\"item\":16,\"type\":\"single\",\"options\":[{\"key\":\"A\",\"text\":\"a\"},{\"key\":\"B\",\"text\":\"b\"}]},"
    "  {\"item\":17,\"type\":\"short\",\"points\":2}]},"
    "{\"item\":18,\"type\":\"practical\",\"points\":5},"
    "{\"item\":19,\"type\":\"multi\",\"options\":[{\"key\":\"A\",\"text\":\"only one\"}]}"
    "],\"hash\":\"ab12\"},"
    "\"answers\":[{\"item\":14,\"response\":[\"x\",\"y\"],\"seq\":3}],\"last_seq\":7}";

Test(load_msg, paper_leaves)
{
    ld_msg m;
    cr_assert_eq(parse(PAPER, &m), 0);
    cr_assert_eq(m.kind, LD_M_PAPER);
    cr_assert(m.items_seen);
    cr_assert_not(m.unchanged);
    cr_assert_eq(m.last_seq, 7);
    cr_assert_str_eq(m.hash, "ab12");
    cr_assert_eq(m.item, 0, "the items' fields are not the message's");
    /* the composite 15 is answered through its children; practical and a multi of one
     * option cannot be answered */
    struct { int64_t item; int type, n; } want[] = {
        {11, LD_SINGLE, 3}, {12, LD_MULTI, 5}, {13, LD_TF, 0}, {14, LD_FILL, 3}, {16, LD_SINGLE, 2}, {17, LD_SHORT, 0}};
    cr_assert_eq(L.n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < L.n; i++) {
        int found = 0;
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            if (L.v[i].item == want[k].item) {
                found = 1;
                cr_assert_eq(L.v[i].type, want[k].type, "item %lld", (long long)want[k].item);
                cr_assert_eq(L.v[i].n, want[k].n, "item %lld", (long long)want[k].item);
            }
        cr_assert(found, "unexpected item %lld", (long long)L.v[i].item);
    }
}

Test(load_msg, paper_unchanged)
{
    ld_msg m;
    cr_assert_eq(parse("{\"type\":\"paper\",\"paper\":{\"title\":\"t\",\"hash\":\"ff\",\"unchanged\":true},"
                       "\"answers\":[],\"last_seq\":12}", &m), 0);
    cr_assert(m.unchanged);
    cr_assert_not(m.items_seen);
    cr_assert_eq(L.n, 0);
    cr_assert_eq(m.last_seq, 12);
}

Test(load_msg, malformed)
{
    static const char *const bad[] = {
        "", "[]", "{", "{\"type\":\"ack\"", "{\"type\":\"ack\",}", "{\"type\" \"ack\"}", "{\"type\":\"ack\"} x",
        "{\"item\":1.5}", "{\"seq\":\"3\"}", "{\"type\":\"a\nb\"}", "{\"type\":\"\\q\"}", "{\"token\":\"\\ud800\"}",
        "{\"paper\":{\"items\":[{\"item\":1,}]}}", "{\"x\":[1,2}", "{\"applied\":tru}",
    };
    ld_msg m;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(parse(bad[i], &m), -1, "accepted: %s", bad[i]);
}

Test(load_json, strings_are_cut_not_overrun)
{
    ldj j;
    char buf[6];
    const char *s = "\"abcdefgh\",1";
    ldj_init(&j, s, strlen(s));
    cr_assert_eq(ldj_str(&j, buf, sizeof buf), 0);
    cr_assert_str_eq(buf, "abcde");
    cr_assert_eq(ldj_peek(&j), ',');
}

/* ---- answers ---- */

Test(load_answer, valid_for_every_type_and_stored_form_matches)
{
    char js[512], st[512];
    for (uint64_t cand = 0; cand < 50; cand++)
        for (int64_t seq = 1; seq < 40; seq++) {
            ld_leaf single = {100 + seq, 0, LD_SINGLE, 4}, multi = {200, 0, LD_MULTI, 5}, tf = {300, 0, LD_TF, 0},
                    fill = {400, 0, LD_FILL, 3}, shrt = {500, 0, LD_SHORT, 0};
            cr_assert_eq(ld_response_stored(&single, cand, seq, st, sizeof st), 1);
            cr_assert(st[0] >= 'A' && st[0] <= 'D', "single %s", st);
            ld_response_json(&single, cand, seq, js, sizeof js);
            cr_assert(js[0] == '"' && js[1] == st[0] && js[2] == '"' && !js[3]);

            int n = ld_response_stored(&multi, cand, seq, st, sizeof st);
            cr_assert(n >= 2 && n <= 5, "multi %s", st);
            for (int i = 0; i < n; i++) {
                cr_assert(st[i] >= 'A' && st[i] <= 'E', "multi %s", st);
                if (i) cr_assert_gt(st[i], st[i - 1], "multi %s: sorted, no repeats", st);
            }

            ld_response_stored(&tf, cand, seq, st, sizeof st);
            cr_assert(!strcmp(st, "T") || !strcmp(st, "F"));

            ld_response_json(&fill, cand, seq, js, sizeof js);
            ld_response_stored(&fill, cand, seq, st, sizeof st);
            /* the JSON array's strings joined by U+001F are the stored form */
            char joined[512] = "";
            ldj j;
            ldj_init(&j, js, strlen(js));
            int k = 0, blanks = 0;
            cr_assert_eq(ldj_arr(&j), 0, "fill %s", js);
            while (ldj_elem(&j, &k) > 0) {
                char b[64];
                cr_assert_eq(ldj_str(&j, b, sizeof b), 0);
                if (blanks++) strcat(joined, "\x1f");
                strcat(joined, b);
            }
            cr_assert_eq(blanks, 3);
            cr_assert_str_eq(joined, st);

            ld_response_json(&shrt, cand, seq, js, sizeof js);
            ld_response_stored(&shrt, cand, seq, st, sizeof st);
            cr_assert(strlen(js) == strlen(st) + 2 && !strncmp(js + 1, st, strlen(st)));
        }
    /* the same inputs give the same answer (nothing is kept to write the acked file) */
    ld_leaf m = {7, 0, LD_MULTI, 4};
    char a[32], b[32];
    ld_response_stored(&m, 3, 9, a, sizeof a);
    ld_response_stored(&m, 3, 9, b, sizeof b);
    cr_assert_str_eq(a, b);
    ld_leaf none = {8, 0, LD_MULTI, 1}, other = {9, 0, LD_OTHER, 0};
    cr_assert_eq(ld_response_json(&none, 1, 1, a, sizeof a), -1);
    cr_assert_eq(ld_response_json(&other, 1, 1, a, sizeof a), -1);
}

/* ---- WebSocket ---- */

Test(load_ws, accept_key_of_rfc6455)
{
    char out[32];
    cr_assert_eq(ld_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    cr_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

Test(load_ws, client_frames_are_masked)
{
    static unsigned char out[70000 + 14], payload[70000];
    size_t sizes[] = {0, 5, 125, 126, 65535, 65536, 70000};
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (unsigned char)(i * 7);
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        size_t n = sizes[t];
        size_t len = ld_ws_frame(out, 1, payload, n, 0x11223344);
        size_t h = n < 126 ? 2 : n < 65536 ? 4 : 10;
        cr_assert_eq(len, h + 4 + n);
        cr_assert_eq(out[0], 0x81);
        cr_assert(out[1] & 0x80, "masked");
        cr_assert_eq(memcmp(out + h, "\x11\x22\x33\x44", 4), 0);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(out[h + 4 + i] ^ out[h + (i & 3)], payload[i], "byte %zu of %zu", i, n);
    }
}

Test(load_ws, server_frame_headers)
{
    int fin, op;
    size_t h;
    uint64_t len;
    unsigned char small[] = {0x81, 5}, mid[] = {0x01, 126, 0x01, 0x00}, big[] = {0x80, 127, 0, 0, 0, 0, 0, 1, 0, 0};
    cr_assert_eq(ld_ws_header(small, 2, &fin, &op, &h, &len), 0);
    cr_assert(fin && op == 1 && h == 2 && len == 5);
    cr_assert_eq(ld_ws_header(mid, 4, &fin, &op, &h, &len), 0);
    cr_assert(!fin && op == 1 && h == 4 && len == 256);
    cr_assert_eq(ld_ws_header(mid, 3, &fin, &op, &h, &len), 1, "incomplete");
    cr_assert_eq(ld_ws_header(big, 10, &fin, &op, &h, &len), 0);
    cr_assert(fin && op == 0 && h == 10 && len == 65536);
    cr_assert_eq(ld_ws_header(big, 9, &fin, &op, &h, &len), 1);
    cr_assert_eq(ld_ws_header(small, 1, &fin, &op, &h, &len), 1);
    unsigned char ping[] = {0x89, 4}, frag_ping[] = {0x09, 4}, long_ping[] = {0x89, 126, 0, 200},
                  masked[] = {0x81, 0x85}, rsv[] = {0xC1, 1}, bad_op[] = {0x83, 0};
    cr_assert_eq(ld_ws_header(ping, 2, &fin, &op, &h, &len), 0);
    cr_assert_eq(op, 9);
    cr_assert_eq(ld_ws_header(frag_ping, 2, &fin, &op, &h, &len), -1);
    cr_assert_eq(ld_ws_header(long_ping, 4, &fin, &op, &h, &len), -1);
    cr_assert_eq(ld_ws_header(masked, 2, &fin, &op, &h, &len), -1);
    cr_assert_eq(ld_ws_header(rsv, 2, &fin, &op, &h, &len), -1);
    cr_assert_eq(ld_ws_header(bad_op, 2, &fin, &op, &h, &len), -1);
}

Test(load_err, codes_tallied_then_other)
{
    static ld_errcount t[LD_ERR_CODES];
    char code[16];
    for (int i = 0; i < LD_ERR_CODES + 5; i++) {
        snprintf(code, sizeof code, "c%d", i);
        ld_err_count(t, code, 2);
    }
    ld_err_count(t, "c0", 1);
    cr_assert_str_eq(t[0].code, "c0");
    cr_assert_eq(t[0].n, 3);
    cr_assert_str_eq(t[LD_ERR_CODES - 1].code, "other");
    cr_assert_eq(t[LD_ERR_CODES - 1].n, 12);
}

/* ---- sealed papers (paper_fetch) ---- */

Test(load_msg, sealed_start_reply)
{
    ld_msg m;
    cr_assert_eq(parse("{\"type\":\"paper\",\"paper\":{\"hash\":\"ab\",\"sealed\":true,\"key\":"
                       "\"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\"},"
                       "\"answers\":[],\"last_seq\":0}", &m), 0);
    cr_assert(m.sealed);
    cr_assert_str_eq(m.key, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    cr_assert_not(m.items_seen, "a key, not items");
}

Test(load_seal, opened_with_the_key_and_read)
{
    const char *paper = "{\"title\":\"t\",\"items\":[{\"item\":5,\"type\":\"tf\",\"stem\":\"\\\"q\\\\\"},"
                        "{\"item\":6,\"type\":\"single\",\"options\":[{\"key\":\"A\"},{\"key\":\"B\"}]}]}";
    size_t n = strlen(paper);
    unsigned char key[32], iv[16] = {0}, sealed[512], plain[512];
    for (int i = 0; i < 32; i++) key[i] = (unsigned char)i;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int got = 0;
    cr_assert(EVP_EncryptInit_ex(c, EVP_chacha20(), NULL, key, iv) && EVP_EncryptUpdate(c, sealed, &got, (const unsigned char *)paper, (int)n));
    EVP_CIPHER_CTX_free(c);
    cr_assert_neq(memcmp(sealed, paper, n), 0);
    cr_assert_eq(ld_unseal("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", sealed, n, plain), 0);
    cr_assert_eq(memcmp(plain, paper, n), 0, "the key opens it");
    ld_msg m;
    memset(&m, 0, sizeof m);
    L.n = 0;
    cr_assert_eq(ld_parse_paper((const char *)plain, n, &m, &L), 0);
    cr_assert(m.items_seen);
    cr_assert_eq(L.n, 2, "both items, past the escaped quote and backslash of the stem");
    cr_assert_eq(ld_unseal("00", sealed, n, plain), -1, "not a key");
    /* another key gives something that is not the paper */
    cr_assert_eq(ld_unseal("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", sealed, n, plain), 0);
    L.n = 0;
    cr_assert(memcmp(plain, paper, n) != 0);
}

Test(load_json, skipped_strings_end_at_the_unescaped_quote)
{
    ld_msg m;
    cr_assert_eq(parse("{\"x\":\"a\\\"b\\\\\",\"y\":\"\\\\\\\\\",\"z\":[\"}\\\"]\"],\"type\":\"ack\",\"item\":3,\"seq\":4}", &m), 0);
    cr_assert_str_eq(m.type, "ack");
    cr_assert_eq(m.item, 3);
    cr_assert_eq(m.seq, 4);
    cr_assert_eq(parse("{\"x\":\"no end\\\"}", &m), -1);
}
