/* The exam's rules without MariaDB (server/exam_logic.c): the stored layout of a paper, the
 * candidate's view of an item (never the key; options in the order shown), a response in
 * the letters the candidate saw scored against the key, the points of a composite's
 * sub-items, the attempt's score, the deadline, and the paper the service thread checks
 * answers against. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/exam/exam.h"

/* ---- helpers ---- */

static char *dump_of(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    cr_assert_not_null(s);
    return s;
}

/* The view of r (which must be deliverable), as compact JSON; info filled. */
static char *view_ok(const exam_item_row *r, exam_item_info *info)
{
    json_t *o = NULL;
    const char *why = "?";
    int rc = exam_item_view(r, NULL, NULL, &o, info, &why);
    cr_assert_eq(rc, 0, "item %llu refused: %s", (unsigned long long)r->id, why ? why : "");
    cr_assert_null(why);
    cr_assert_not_null(o);
    char *s = dump_of(o);
    json_decref(o);
    return s;
}

/* The view of r is refused with KC_EINVAL and exactly this reason. */
static void view_refused(const exam_item_row *r, const char *reason)
{
    json_t *o = (json_t *)1;
    const char *why = NULL;
    exam_item_info info;
    cr_assert_eq(exam_item_view(r, NULL, NULL, &o, &info, &why), KC_EINVAL, "item %llu: %s",
                 (unsigned long long)r->id, reason);
    cr_assert_null(o);
    cr_assert_str_eq(why, reason);
}

/* The shown letter whose option text is text, in a view's JSON; 0 if none. */
static char shown_letter_of(const char *view_json, const char *text)
{
    json_t *o = json_loads(view_json, 0, NULL), *opt;
    cr_assert_not_null(o);
    size_t k;
    char letter = 0;
    json_array_foreach(json_object_get(o, "options"), k, opt)
        if (!strcmp(json_string_value(json_object_get(opt, "text")), text))
            letter = json_string_value(json_object_get(opt, "key"))[0];
    json_decref(o);
    return letter;
}

static int score(const char *type, const char *policy, const char *key, const char *perm,
                 const char *response, int own)
{
    int got = -1;
    cr_assert_eq(exam_score_response(type, policy, key, perm, response, own, &got), 0,
                 "%s %s: response %s through %s", type, key, response, perm);
    return got;
}

/* ---- the stored layout ---- */

static const char ITEMS[] =
    "[{\"i\":11,\"p\":200,\"s\":0,\"o\":\"CADB\"},"
    "{\"i\":12,\"p\":100,\"s\":1},"
    "{\"i\":20,\"p\":1000,\"s\":1,\"c\":[[21,\"BA\"],[22,\"\"],[23,\"CAB\"]]},"
    "{\"i\":13,\"p\":200,\"s\":0,\"o\":\"ABCD\"}]";
static const char SPEC[] =
    "{\"code\":\"T1\",\"sections\":[{\"title\":\"一、单项选择题\",\"type\":\"single\"},"
    "{\"title\":\"二、案例分析题\"}]}";

Test(exam, layout_reads_option_orders_of_items_and_sub_items)
{
    exam_layout l = {0};
    cr_assert_eq(exam_layout_parse(ITEMS, SPEC, &l), 0);
    cr_assert_eq(l.n, 7);     /* 4 items and 3 sub-items */
    cr_assert_str_eq(exam_layout_perm(&l, 11), "CADB");
    cr_assert_str_eq(exam_layout_perm(&l, 12), "");
    cr_assert_str_eq(exam_layout_perm(&l, 20), "");
    cr_assert_str_eq(exam_layout_perm(&l, 21), "BA");
    cr_assert_str_eq(exam_layout_perm(&l, 22), "");
    cr_assert_str_eq(exam_layout_perm(&l, 23), "CAB");
    cr_assert_str_eq(exam_layout_perm(&l, 13), "ABCD");
    cr_assert_str_eq(exam_layout_perm(&l, 99), "");     /* not on the paper */
    cr_assert_eq(l.n_titles, 2);
    cr_assert_str_eq(exam_layout_title(&l, 0), "一、单项选择题");
    cr_assert_str_eq(exam_layout_title(&l, 1), "二、案例分析题");
    cr_assert_str_eq(exam_layout_title(&l, 2), "");
    cr_assert_str_eq(exam_layout_title(&l, -1), "");
    exam_layout_free(&l);
    cr_assert_eq(l.n, 0);
    cr_assert_null(l.v);
    cr_assert_null(l.titles);
}

Test(exam, layout_without_spec_has_no_titles)
{
    exam_layout l = {0};
    cr_assert_eq(exam_layout_parse(ITEMS, NULL, &l), 0);
    cr_assert_eq(l.n, 7);
    cr_assert_eq(l.n_titles, 0);
    cr_assert_str_eq(exam_layout_title(&l, 0), "");
    exam_layout_free(&l);
    /* a spec that is not JSON or has no sections gives no titles either */
    cr_assert_eq(exam_layout_parse(ITEMS, "{not json", &l), 0);
    cr_assert_eq(l.n_titles, 0);
    exam_layout_free(&l);
    cr_assert_eq(exam_layout_parse("[]", "{\"sections\":[]}", &l), 0);
    cr_assert_eq(l.n, 0);
    cr_assert_eq(l.n_titles, 0);
    exam_layout_free(&l);
}

Test(exam, layout_rejects_stored_text_that_is_not_a_json_array)
{
    const char *bad[] = {"", "{", "[{\"i\":1,\"o\":\"BA\"}", "{\"i\":1,\"o\":\"BA\"}", "null",
                         "42", "\"[]\"", "[1,2", "[{\"i\":1}]x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        exam_layout l = {0};
        cr_expect_eq(exam_layout_parse(bad[i], SPEC, &l), KC_EINVAL, "accepted: %s", bad[i]);
        cr_expect_eq(l.n, 0, "%s", bad[i]);
        cr_expect_eq(l.n_titles, 0, "%s", bad[i]);
        exam_layout_free(&l);
    }
    exam_layout l = {0};
    cr_assert_eq(exam_layout_parse(NULL, NULL, &l), KC_EINVAL);
    exam_layout_free(&l);
}

Test(exam, layout_perm_longer_than_eight_letters_is_cut)
{
    exam_layout l = {0};
    cr_assert_eq(exam_layout_parse("[{\"i\":5,\"o\":\"ABCDEFGHIJ\"},{\"i\":6,\"o\":7}]", NULL, &l), 0);
    cr_assert_str_eq(exam_layout_perm(&l, 5), "ABCDEFGH");
    cr_assert_str_eq(exam_layout_perm(&l, 6), "");     /* not a string: no order */
    exam_layout_free(&l);
}

/* ---- the candidate's view ---- */

static const char PORT_OPTIONS[] = "[\"22\",\"443\",\"80\",\"8080\"]";   /* key B: 443 */

Test(exam, single_view_shows_options_in_the_stored_order_and_no_key)
{
    const exam_item_row r = {11, "single", "<p>HTTPS 默认端口？</p>", PORT_OPTIONS, "B", "CADB", 200};
    exam_item_info info;
    char *s = view_ok(&r, &info);
    cr_assert_str_eq(s, "{\"item\":11,\"type\":\"single\",\"stem\":\"<p>HTTPS 默认端口？</p>\","
                        "\"points\":2.0,\"options\":[{\"key\":\"A\",\"text\":\"80\"},"
                        "{\"key\":\"B\",\"text\":\"22\"},{\"key\":\"C\",\"text\":\"8080\"},"
                        "{\"key\":\"D\",\"text\":\"443\"}]}");
    cr_assert_eq(info.type, BANK_SINGLE);
    cr_assert_eq(info.n_options, 4);
    cr_assert_eq(info.n_blanks, 0);
    cr_assert_null(strstr(s, "answer"));
    cr_assert_null(strstr(s, "\"key\":\"B\",\"text\":\"443\""));   /* the key is not where the bank has it */
    /* The candidate picks the text that is right, in the letter shown: it scores. */
    char shown = shown_letter_of(s, "443");
    cr_assert_eq(shown, 'D');
    char resp[2] = {shown, 0};
    cr_assert_eq(score("single", "all", "B", "CADB", resp, 200), 200);
    /* The bank's letter of the right option is a wrong answer on this paper. */
    cr_assert_eq(score("single", "all", "B", "CADB", "B", 200), 0);
    cr_assert_eq(score("single", "all", "B", "CADB", "A", 200), 0);
    cr_assert_eq(score("single", "all", "B", "CADB", "", 200), 0);
    free(s);
}

Test(exam, multi_view_and_shown_letters_map_back_to_the_key)
{
    /* key AB: TCP and UDP; shown order DBCA: A=HTTP, B=UDP, C=ICMP, D=TCP */
    const exam_item_row r = {14, "multi", "传输层协议有", "[\"TCP\",\"UDP\",\"ICMP\",\"HTTP\"]",
                             "AB", "DBCA", 300};
    exam_item_info info;
    char *s = view_ok(&r, &info);
    cr_assert_str_eq(s, "{\"item\":14,\"type\":\"multi\",\"stem\":\"传输层协议有\",\"points\":3.0,"
                        "\"options\":[{\"key\":\"A\",\"text\":\"HTTP\"},{\"key\":\"B\",\"text\":\"UDP\"},"
                        "{\"key\":\"C\",\"text\":\"ICMP\"},{\"key\":\"D\",\"text\":\"TCP\"}]}");
    cr_assert_eq(info.type, BANK_MULTI);
    cr_assert_eq(info.n_options, 4);
    cr_assert_eq(shown_letter_of(s, "TCP"), 'D');
    cr_assert_eq(shown_letter_of(s, "UDP"), 'B');
    /* TCP + UDP as shown: B and D */
    cr_assert_eq(score("multi", "all", "AB", "DBCA", "BD", 300), 300);
    cr_assert_eq(score("multi", "all", "AB", "DBCA", "AB", 300), 0);     /* the bank's letters */
    cr_assert_eq(score("multi", "all", "AB", "DBCA", "D", 300), 0);      /* missing one, all-or-nothing */
    cr_assert_eq(score("multi", "half", "AB", "DBCA", "D", 300), 150);   /* 少选得半分 */
    cr_assert_eq(score("multi", "ratio", "AB", "DBCA", "B", 300), 150);
    cr_assert_eq(score("multi", "half", "AB", "DBCA", "BC", 300), 0);    /* ICMP is wrong */
    cr_assert_eq(score("multi", "bogus", "AB", "DBCA", "D", 300), 0);    /* unknown policy: all */
    free(s);
}

Test(exam, a_letter_the_shown_order_does_not_have_scores_nothing)
{
    int got = 7;
    cr_assert_eq(exam_score_response("single", "all", "B", "CADB", "E", 200, &got), KC_EINVAL);
    cr_assert_eq(got, 0);
    got = 7;
    cr_assert_eq(exam_score_response("multi", "all", "AB", "BA", "AC", 200, &got), KC_EINVAL);
    cr_assert_eq(got, 0);
    got = 7;     /* no stored order for an option item: nothing maps */
    cr_assert_eq(exam_score_response("single", "all", "B", "", "B", 200, &got), KC_EINVAL);
    cr_assert_eq(got, 0);
    got = 7;
    cr_assert_eq(exam_score_response("nonsense", "all", "B", "AB", "B", 200, &got), KC_EINVAL);
    cr_assert_eq(got, 0);
}

Test(exam, pinned_and_unshuffled_options_keep_the_bank_order)
{
    /* A pinned item (or a template without option shuffling) stores the identity order. */
    const char *orders[] = {"ABCD", ""};
    for (int i = 0; i < 2; i++) {
        const exam_item_row r = {13, "single", "端口", PORT_OPTIONS, "B", orders[i], 150};
        exam_item_info info;
        char *s = view_ok(&r, &info);
        cr_assert_str_eq(s, "{\"item\":13,\"type\":\"single\",\"stem\":\"端口\",\"points\":1.5,"
                            "\"options\":[{\"key\":\"A\",\"text\":\"22\"},{\"key\":\"B\",\"text\":\"443\"},"
                            "{\"key\":\"C\",\"text\":\"80\"},{\"key\":\"D\",\"text\":\"8080\"}]}",
                         "order \"%s\": %s", orders[i], s);
        cr_assert_eq(info.n_options, 4);
        free(s);
    }
    cr_assert_eq(score("single", "all", "B", "ABCD", "B", 150), 150);
    cr_assert_eq(score("multi", "all", "AC", "ABCD", "AC", 150), 150);
}

Test(exam, true_false_has_no_options_and_its_response_passes_unchanged)
{
    const exam_item_row r = {15, "tf", "防火墙可以替代杀毒软件。", NULL, "F", "", 100};
    exam_item_info info;
    char *s = view_ok(&r, &info);
    cr_assert_str_eq(s, "{\"item\":15,\"type\":\"tf\",\"stem\":\"防火墙可以替代杀毒软件。\",\"points\":1.0}");
    cr_assert_eq(info.type, BANK_TF);
    cr_assert_eq(info.n_options, 0);
    cr_assert_eq(score("tf", "all", "F", "", "F", 100), 100);
    cr_assert_eq(score("tf", "all", "F", "", "T", 100), 0);
    free(s);
}

Test(exam, fill_view_counts_blanks_and_never_shows_the_key)
{
    const exam_item_row r = {16, "fill", "HTTPS 用____协议，端口____", NULL, "TCP;tcp协议|num:443", "", 200};
    exam_item_info info;
    char *s = view_ok(&r, &info);
    cr_assert_str_eq(s, "{\"item\":16,\"type\":\"fill\",\"stem\":\"HTTPS 用____协议，端口____\","
                        "\"points\":2.0,\"blanks\":2}");
    cr_assert_eq(info.type, BANK_FILL);
    cr_assert_eq(info.n_blanks, 2);
    cr_assert_null(strstr(s, "TCP"));
    cr_assert_null(strstr(s, "443"));
    cr_assert_eq(score("fill", "all", "TCP;tcp协议|num:443", "", "tcp\x1f" "443", 200), 200);
    cr_assert_eq(score("fill", "all", "TCP;tcp协议|num:443", "", "UDP\x1f" "443", 200), 100);
    free(s);
}

Test(exam, examiner_scored_items_score_nothing_here)
{
    const exam_item_row r = {17, "short", "简述 DMZ 的作用。", NULL, "隔离内外网", "", 500};
    exam_item_info info;
    char *s = view_ok(&r, &info);
    cr_assert_str_eq(s, "{\"item\":17,\"type\":\"short\",\"stem\":\"简述 DMZ 的作用。\",\"points\":5.0}");
    cr_assert_null(strstr(s, "隔离"));
    cr_assert_eq(score("short", "all", "隔离内外网", "", "隔离内外网", 500), 0);
    cr_assert_eq(score("essay", "all", "", "", "很长的回答", 500), 0);
    free(s);
}

Test(exam, items_that_cannot_be_delivered_are_refused_with_the_reason)
{
    view_refused(&(exam_item_row){1, "riddle", "s", PORT_OPTIONS, "B", "", 100}, "unknown item type");
    view_refused(&(exam_item_row){2, "practical", "task", NULL, NULL, "", 100},
                 "a practical task cannot be delivered in a computer exam");
    view_refused(&(exam_item_row){3, "single", "bad \xff utf-8", PORT_OPTIONS, "B", "", 100},
                 "stem is not valid UTF-8");
    view_refused(&(exam_item_row){4, "single", "s", PORT_OPTIONS, "B", "CAB", 100},
                 "its stored option order does not fit its options");
    view_refused(&(exam_item_row){5, "single", "s", PORT_OPTIONS, "B", "CAXB", 100},
                 "options cannot be rendered");
    view_refused(&(exam_item_row){6, "single", "s", "[\"only one\"]", "A", "", 100},
                 "options cannot be rendered");
    view_refused(&(exam_item_row){7, "multi", "s", "not json", "A", "", 100},
                 "options cannot be rendered");
    view_refused(&(exam_item_row){8, "single", "s", "[\"a\",2,\"c\"]", "A", "", 100},
                 "options cannot be rendered");
    view_refused(&(exam_item_row){9, "fill", "s", NULL, "", "", 100}, "its fill key does not parse");
    view_refused(&(exam_item_row){10, "fill", "s", NULL, "re:(", "", 100}, "its fill key does not parse");
}

/* Marks the text so the test sees it passed through (media signing in the server). */
static json_t *mark(const void *arg, uint64_t id, const char *html)
{
    const char *refuse = arg;
    if (refuse && strstr(html, refuse)) return NULL;
    char buf[256];
    snprintf(buf, sizeof buf, "[%llu]%s", (unsigned long long)id, html);
    return json_string(buf);
}

Test(exam, stem_and_option_texts_go_through_the_text_function)
{
    const exam_item_row r = {11, "single", "stem", "[\"x\",\"y\"]", "A", "BA", 100};
    json_t *o;
    const char *why;
    exam_item_info info;
    cr_assert_eq(exam_item_view(&r, mark, NULL, &o, &info, &why), 0);
    char *s = dump_of(o);
    cr_assert_str_eq(s, "{\"item\":11,\"type\":\"single\",\"stem\":\"[11]stem\",\"points\":1.0,"
                        "\"options\":[{\"key\":\"A\",\"text\":\"[11]y\"},{\"key\":\"B\",\"text\":\"[11]x\"}]}");
    free(s);
    json_decref(o);
    /* A text that cannot be sent refuses the item rather than dropping it. */
    cr_assert_eq(exam_item_view(&r, mark, "stem", &o, &info, &why), KC_EINVAL);
    cr_assert_str_eq(why, "stem is not valid UTF-8");
    cr_assert_eq(exam_item_view(&r, mark, "y", &o, &info, &why), KC_EINVAL);
    cr_assert_str_eq(why, "options cannot be rendered");
}

Test(exam, composite_view_has_an_empty_children_list)
{
    const exam_item_row r = {20, "composite", "某公司网络拓扑如下……", NULL, NULL, "", 1000};
    json_t *o;
    cr_assert_eq(exam_composite_view(&r, NULL, NULL, &o), 0);
    char *s = dump_of(o);
    cr_assert_str_eq(s, "{\"item\":20,\"type\":\"composite\",\"stem\":\"某公司网络拓扑如下……\","
                        "\"points\":10.0,\"children\":[]}");
    free(s);
    json_decref(o);
    const exam_item_row bad = {21, "composite", "\xc3", NULL, NULL, "", 1000};
    cr_assert_eq(exam_composite_view(&bad, NULL, NULL, &o), KC_EINVAL);
    cr_assert_null(o);
}

Test(exam, stored_responses_go_back_as_they_came)
{
    json_t *r;
    cr_assert_eq(exam_response_view(BANK_FILL, "TCP\x1f\x1f" "443", &r), 0);
    char *s = dump_of(r);
    cr_assert_str_eq(s, "[\"TCP\",\"\",\"443\"]");
    free(s);
    json_decref(r);
    cr_assert_eq(exam_response_view(BANK_FILL, "", &r), 0);
    s = dump_of(r);
    cr_assert_str_eq(s, "[\"\"]");
    free(s);
    json_decref(r);
    cr_assert_eq(exam_response_view(BANK_MULTI, "BD", &r), 0);
    cr_assert_str_eq(json_string_value(r), "BD");
    json_decref(r);
}

/* ---- composite points ---- */

Test(exam, three_sub_items_over_ten_points_add_up_exactly)
{
    exam_scale sc = {0};
    int64_t a = exam_scale_child(&sc, 20, 100, 300, 1000);
    int64_t b = exam_scale_child(&sc, 20, 100, 300, 1000);
    int64_t c = exam_scale_child(&sc, 20, 100, 300, 1000);
    cr_assert_eq(a, 333);
    cr_assert_eq(b, 333);
    cr_assert_eq(c, 334);
    cr_assert_eq(a + b + c, 1000);
    /* another composite starts a new sum: uneven own points 1.50 + 0.50 + 1.00 over 7.00 */
    cr_assert_eq(exam_scale_child(&sc, 30, 150, 300, 700), 350);
    cr_assert_eq(exam_scale_child(&sc, 30, 50, 300, 700), 116);
    cr_assert_eq(exam_scale_child(&sc, 30, 100, 300, 700), 234);
    /* the paper gives the composite its own points: unchanged */
    cr_assert_eq(exam_scale_child(&sc, 40, 250, 500, 500), 250);
    cr_assert_eq(exam_scale_child(&sc, 40, 250, 500, 500), 250);
    /* no whole to scale by: the sub-item's own points */
    cr_assert_eq(exam_scale_child(&sc, 50, 120, 0, 1000), 120);
}

Test(exam, scaled_sub_items_always_sum_to_the_composite_in_hundredths)
{
    static const int64_t own[] = {100, 200, 50, 150, 300, 75, 125, 10, 999};
    for (int n = 1; n <= 9; n++) {
        int64_t whole = 0;
        for (int i = 0; i < n; i++) whole += own[i];
        for (int64_t paper = 1; paper <= 3000; paper += 7) {
            exam_scale sc = {0};
            int64_t sum = 0;
            for (int i = 0; i < n; i++) {
                int64_t v = exam_scale_child(&sc, (uint64_t)(1000 + n), own[i], whole, paper);
                cr_assert_geq(v, 0);
                /* each share is within a hundredth of its exact value */
                cr_assert_leq(v * whole, own[i] * paper + whole, "n=%d paper=%lld i=%d", n, (long long)paper, i);
                cr_assert_geq(v * whole, own[i] * paper - whole, "n=%d paper=%lld i=%d", n, (long long)paper, i);
                sum += v;
            }
            cr_assert_eq(sum, paper, "n=%d paper=%lld: sum %lld", n, (long long)paper, (long long)sum);
        }
    }
}

/* ---- the attempt's score ---- */

Test(exam, tally_adds_items_and_scales_each_composite_once)
{
    exam_tally t = {0};
    /* items on the paper: scored at the paper's points, added as they are */
    exam_tally_add(&t, 0, 200, 200, 200);
    exam_tally_add(&t, 0, 150, 150, 0);
    exam_tally_add(&t, 0, 100, 100, 100);
    /* composite 20: three sub-items of 1.00 (own), the paper gives it 10.00: 2 of 3 right */
    exam_tally_add(&t, 20, 1000, 300, 100);
    exam_tally_add(&t, 20, 1000, 300, 0);
    exam_tally_add(&t, 20, 1000, 300, 100);
    /* composite 30: all right, full marks reachable whatever the ratio */
    exam_tally_add(&t, 30, 1000, 300, 100);
    exam_tally_add(&t, 30, 1000, 300, 100);
    exam_tally_add(&t, 30, 1000, 300, 100);
    /* composite 40: examiner-scored sub-items (0 here) and a negative got ignored */
    exam_tally_add(&t, 40, 500, 200, 0);
    exam_tally_add(&t, 40, 500, 200, -1);
    cr_assert_eq(exam_tally_total(&t), 300 + 666 + 1000);
    cr_assert_eq(exam_tally_total(&t), 300 + 666 + 1000);   /* closing twice adds nothing */
}

Test(exam, tally_of_a_composite_without_points_adds_nothing)
{
    exam_tally t = {0};
    exam_tally_add(&t, 7, 1000, 0, 100);
    cr_assert_eq(exam_tally_total(&t), 0);
    exam_tally empty = {0};
    cr_assert_eq(exam_tally_total(&empty), 0);
}

/* ---- time ---- */

#define MIN (60LL * 1000)
static const int64_t OPENS = 1796086800000LL;   /* 2026-12-01T01:00Z */
static const int64_t CLOSES = 1796086800000LL + 180 * MIN;

Test(exam, deadline_is_start_plus_duration_plus_extra_time)
{
    int64_t d = -1;
    cr_assert_eq(exam_start_deadline(OPENS + 10 * MIN, OPENS, CLOSES, 90 * 60, 0, &d), 0);
    cr_assert_eq(d, OPENS + 100 * MIN);
    cr_assert_eq(exam_start_deadline(OPENS + 10 * MIN, OPENS, CLOSES, 90 * 60, 15 * 60, &d), 0);
    cr_assert_eq(d, OPENS + 115 * MIN);
    cr_assert_eq(exam_start_deadline(OPENS, OPENS, CLOSES, 90 * 60, 0, &d), 0);   /* at the opening */
    cr_assert_eq(d, OPENS + 90 * MIN);
}

Test(exam, the_session_close_cuts_the_deadline_short)
{
    int64_t d = -1;
    cr_assert_eq(exam_start_deadline(OPENS + 150 * MIN, OPENS, CLOSES, 90 * 60, 0, &d), 0);
    cr_assert_eq(d, CLOSES);
    cr_assert_eq(exam_start_deadline(OPENS + 60 * MIN, OPENS, CLOSES, 90 * 60, 60 * 60, &d), 0);
    cr_assert_eq(d, CLOSES);     /* extra time does not reach past the close either */
    cr_assert_eq(exam_start_deadline(OPENS + 90 * MIN, OPENS, CLOSES, 90 * 60, 0, &d), 0);
    cr_assert_eq(d, CLOSES);     /* exactly at the close */
    cr_assert_eq(exam_start_deadline(CLOSES - 1, OPENS, CLOSES, 90 * 60, 0, &d), 0);
    cr_assert_eq(d, CLOSES);
}

Test(exam, no_start_before_the_opening_or_from_the_close_on)
{
    int64_t d = 42;
    cr_assert_eq(exam_start_deadline(OPENS - 1, OPENS, CLOSES, 90 * 60, 0, &d), KC_EINVAL);
    cr_assert_eq(exam_start_deadline(CLOSES, OPENS, CLOSES, 90 * 60, 0, &d), KC_EINVAL);
    cr_assert_eq(exam_start_deadline(CLOSES + 60 * MIN, OPENS, CLOSES, 90 * 60, 0, &d), KC_EINVAL);
    cr_assert_eq(d, 42);     /* untouched */
}

Test(exam, a_submit_after_the_deadline_ends_at_the_deadline)
{
    const int64_t deadline = OPENS + 90 * MIN;
    int late = -1;
    cr_assert_eq(exam_submit_at(deadline - 1, deadline, &late), deadline - 1);
    cr_assert_eq(late, 0);
    cr_assert_eq(exam_submit_at(OPENS + 5 * MIN, deadline, &late), OPENS + 5 * MIN);
    cr_assert_eq(late, 0);
    cr_assert_eq(exam_submit_at(deadline, deadline, &late), deadline);
    cr_assert_eq(late, 1);
    cr_assert_eq(exam_submit_at(deadline + 37 * MIN, deadline, &late), deadline);
    cr_assert_eq(late, 1);
}

/* ---- the paper the service thread checks answers against ---- */

Test(exam, paper_is_sorted_by_id_with_its_attributes)
{
    exam_paper_build b = {0};
    cr_assert_eq(exam_paper_begin(&b, 77), 0);
    cr_assert_eq(exam_paper_add(&b, 30, &(exam_item_info){BANK_SINGLE, 4, 0}), 0);
    cr_assert_eq(exam_paper_add(&b, 10, &(exam_item_info){BANK_FILL, 0, 3}), 0);
    cr_assert_eq(exam_paper_add(&b, 25, &(exam_item_info){BANK_TF, 0, 0}), 0);
    cr_assert_eq(exam_paper_add(&b, 20, &(exam_item_info){BANK_MULTI, 5, 0}), 0);
    srv_paper *p = NULL;
    cr_assert_eq(exam_paper_finish(&b, &p), 0);
    cr_assert_null(b.p);
    cr_assert_not_null(p);
    cr_assert_eq(p->attempt_id, 77);
    cr_assert_eq(p->n, 4);
    const uint64_t ids[] = {10, 20, 25, 30};
    const unsigned char no[] = {0, 5, 0, 4}, ty[] = {BANK_FILL, BANK_MULTI, BANK_TF, BANK_SINGLE},
                        nb[] = {3, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(p->item_ids[i], ids[i], "[%d]", i);
        cr_assert_eq(p->n_options[i], no[i], "[%d]", i);
        cr_assert_eq(p->types[i], ty[i], "[%d]", i);
        cr_assert_eq(p->n_blanks[i], nb[i], "[%d]", i);
        cr_assert_eq(srv_paper_find(p, ids[i]), i);
    }
    cr_assert_eq(srv_paper_find(p, 11), -1);
    cr_assert_eq(srv_paper_find(p, 5), -1);
    cr_assert_eq(srv_paper_find(p, 31), -1);
    exam_paper_abort(&b);    /* nothing left to free */
    srv_paper_free(p);
}

Test(exam, a_large_paper_grows_and_sorts)
{
    exam_paper_build b = {0};
    cr_assert_eq(exam_paper_begin(&b, 1), 0);
    for (uint64_t id = 300; id >= 1; id--) {
        exam_item_info info = {id % 2 ? BANK_SINGLE : BANK_FILL, id % 2 ? (int)(2 + id % 7) : 0,
                               id % 2 ? 0 : (int)(1 + id % 5)};
        cr_assert_eq(exam_paper_add(&b, id * 10, &info), 0);
    }
    srv_paper *p;
    cr_assert_eq(exam_paper_finish(&b, &p), 0);
    cr_assert_eq(p->n, 300);
    for (int i = 0; i < 300; i++) {
        uint64_t id = (uint64_t)i + 1;
        cr_assert_eq(p->item_ids[i], id * 10);
        cr_assert_eq(p->types[i], id % 2 ? BANK_SINGLE : BANK_FILL);
        cr_assert_eq(p->n_options[i], id % 2 ? 2 + id % 7 : 0);
        cr_assert_eq(p->n_blanks[i], id % 2 ? 0 : 1 + id % 5);
        cr_assert_eq(srv_paper_find(p, id * 10), i);
        cr_assert_eq(srv_paper_find(p, id * 10 + 1), -1);
    }
    srv_paper_free(p);
}

Test(exam, an_empty_paper_finds_nothing_and_abort_frees)
{
    exam_paper_build b = {0};
    cr_assert_eq(exam_paper_begin(&b, 3), 0);
    srv_paper *p;
    cr_assert_eq(exam_paper_finish(&b, &p), 0);
    cr_assert_eq(p->n, 0);
    cr_assert_eq(srv_paper_find(p, 1), -1);
    srv_paper_free(p);
    /* a paper abandoned half-way is freed (ASan's leak check) */
    cr_assert_eq(exam_paper_begin(&b, 4), 0);
    cr_assert_eq(exam_paper_add(&b, 9, &(exam_item_info){BANK_TF, 0, 0}), 0);
    exam_paper_abort(&b);
    cr_assert_null(b.p);
    cr_assert_eq(exam_paper_add(&b, 9, &(exam_item_info){BANK_TF, 0, 0}), KC_EINVAL);
    cr_assert_eq(exam_paper_finish(&b, &p), KC_EINVAL);
}

/* The whole path of a mixed paper: the stored layout gives each item its order, the views
 * tell the paper what to check, and an answer in shown letters scores. */
Test(exam, views_of_a_stored_paper_feed_the_paper_that_checks_answers)
{
    exam_layout l = {0};
    cr_assert_eq(exam_layout_parse(ITEMS, SPEC, &l), 0);
    const exam_item_row rows[] = {
        {11, "single", "端口", PORT_OPTIONS, "B", exam_layout_perm(&l, 11), 200},
        {12, "fill", "____ 与 ____", NULL, "a|b", exam_layout_perm(&l, 12), 100},
        {21, "multi", "选两个", "[\"p\",\"q\",\"r\"]", "AB", exam_layout_perm(&l, 21), 333},
        {13, "single", "固定", PORT_OPTIONS, "B", exam_layout_perm(&l, 13), 200},
    };
    cr_assert_str_eq(rows[2].perm, "BA");
    exam_paper_build b = {0};
    cr_assert_eq(exam_paper_begin(&b, 500), 0);
    char *views[4];
    for (int i = 0; i < 4; i++) {
        exam_item_info info;
        json_t *o;
        const char *why;
        int rc = exam_item_view(&rows[i], NULL, NULL, &o, &info, &why);
        if (i == 2) {
            /* "BA" is the order of a two-option item: a three-option item cannot use it */
            cr_assert_eq(rc, KC_EINVAL);
            cr_assert_str_eq(why, "its stored option order does not fit its options");
            continue;
        }
        cr_assert_eq(rc, 0, "%s", why);
        views[i] = dump_of(o);
        json_decref(o);
        cr_assert_eq(exam_paper_add(&b, rows[i].id, &info), 0);
    }
    srv_paper *p;
    cr_assert_eq(exam_paper_finish(&b, &p), 0);
    cr_assert_eq(p->n, 3);
    cr_assert_eq(p->item_ids[0], 11);
    cr_assert_eq(p->item_ids[1], 12);
    cr_assert_eq(p->item_ids[2], 13);
    cr_assert_eq(p->n_options[0], 4);
    cr_assert_eq(p->n_blanks[1], 2);
    cr_assert_eq(p->types[1], BANK_FILL);
    cr_assert_eq(p->n_options[2], 4);
    /* item 11 is shuffled (CADB), item 13 keeps the bank's order (ABCD) */
    cr_assert_eq(shown_letter_of(views[0], "443"), 'D');
    cr_assert_eq(shown_letter_of(views[3], "443"), 'B');
    cr_assert_eq(score("single", "all", "B", exam_layout_perm(&l, 11), "D", 200), 200);
    cr_assert_eq(score("single", "all", "B", exam_layout_perm(&l, 13), "B", 200), 200);
    free(views[0]);
    free(views[1]);
    free(views[3]);
    srv_paper_free(p);
    exam_layout_free(&l);
}
