/* importers: IMS QTI 2.1/2.2 import (single item files and content packages, every supported
 * interaction, media, broken and hostile files) and the QTI 2.2 package export, with the
 * round trip QTI -> items -> QTI package -> items. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include "kc_test.h"

static const unsigned char PNG[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x64, 0xf8, 0xcf, 0x50,
    0x0f, 0x00, 0x03, 0x86, 0x01, 0x80, 0x5a, 0x34, 0x7d, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
};

TestSuite(qti, .init = kc_setup, .fini = kc_teardown);

#define HEAD(id) "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
    "<assessmentItem xmlns=\"http://www.imsglobal.org/xsd/imsqti_v2p1\" identifier=\"" id "\" title=\"t\" adaptive=\"false\" timeDependent=\"false\">\n"
#define MATCH "<responseProcessing template=\"http://www.imsglobal.org/question/qti_v2p1/rptemplates/match_correct\"/>\n"
#define MAP "<responseProcessing template=\"http://www.imsglobal.org/question/qti_v2p1/rptemplates/map_response\"/>\n"

static const char SINGLE[] =
    HEAD("Q-single")
    "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"single\" baseType=\"identifier\">\n"
    "<correctResponse><value>ChoiceB</value></correctResponse></responseDeclaration>\n"
    "<outcomeDeclaration identifier=\"SCORE\" cardinality=\"single\" baseType=\"float\"/>\n"
    "<outcomeDeclaration identifier=\"MAXSCORE\" cardinality=\"single\" baseType=\"float\"><defaultValue><value>2</value></defaultValue></outcomeDeclaration>\n"
    "<itemBody>\n<p>看图回答：<img src=\"../images/fig.png\" alt=\"图\"/></p>\n"
    "<choiceInteraction responseIdentifier=\"RESPONSE\" shuffle=\"false\" maxChoices=\"1\">\n"
    "<prompt>TCP 工作在哪一层？</prompt>\n"
    "<simpleChoice identifier=\"ChoiceA\">网络层</simpleChoice>\n"
    "<simpleChoice identifier=\"ChoiceB\">传输层</simpleChoice>\n"
    "<simpleChoice identifier=\"ChoiceC\">应用层</simpleChoice>\n"
    "</choiceInteraction>\n</itemBody>\n" MATCH
    "<modalFeedback outcomeIdentifier=\"FEEDBACK\" identifier=\"f\" showHide=\"show\">TCP 是传输层协议。</modalFeedback>\n"
    "</assessmentItem>\n";

static const char MULTI_RATIO[] =
    HEAD("Q-ratio")
    "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"multiple\" baseType=\"identifier\">\n"
    "<correctResponse><value>a</value><value>c</value></correctResponse>\n"
    "<mapping lowerBound=\"0\" upperBound=\"3\" defaultValue=\"0\"><mapEntry mapKey=\"a\" mappedValue=\"1.5\"/>"
    "<mapEntry mapKey=\"b\" mappedValue=\"-3\"/><mapEntry mapKey=\"c\" mappedValue=\"1.5\"/></mapping>\n"
    "</responseDeclaration>\n"
    "<itemBody><choiceInteraction responseIdentifier=\"RESPONSE\" shuffle=\"true\" maxChoices=\"0\">\n"
    "<prompt>下列属于传输层协议的是</prompt>\n"
    "<simpleChoice identifier=\"a\">TCP</simpleChoice><simpleChoice identifier=\"b\">IP</simpleChoice>"
    "<simpleChoice identifier=\"c\" fixed=\"false\">UDP</simpleChoice>\n"
    "</choiceInteraction></itemBody>\n" MAP "</assessmentItem>\n";

static const char MULTI_ALL[] =
    HEAD("Q-all")
    "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"multiple\" baseType=\"identifier\">\n"
    "<correctResponse><value>x2</value><value>x1</value></correctResponse></responseDeclaration>\n"
    "<itemBody><p>下列是对称加密算法的是</p><choiceInteraction responseIdentifier=\"RESPONSE\" shuffle=\"true\" maxChoices=\"3\">\n"
    "<simpleChoice identifier=\"x1\">AES</simpleChoice><simpleChoice identifier=\"x2\">SM4</simpleChoice>"
    "<simpleChoice identifier=\"x3\" fixed=\"true\">RSA</simpleChoice>\n"
    "</choiceInteraction></itemBody>\n" MATCH "</assessmentItem>\n";

static const char TF[] =
    HEAD("Q-tf")
    "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"single\" baseType=\"identifier\">\n"
    "<correctResponse><value>F</value></correctResponse></responseDeclaration>\n"
    "<itemBody><p>HTTP 默认端口是 443。</p><choiceInteraction responseIdentifier=\"RESPONSE\" shuffle=\"false\" maxChoices=\"1\">"
    "<simpleChoice identifier=\"T\">对</simpleChoice><simpleChoice identifier=\"F\">错</simpleChoice>"
    "</choiceInteraction></itemBody>\n" MATCH "</assessmentItem>\n";

static const char FILL[] =
    HEAD("Q-fill")
    "<responseDeclaration identifier=\"R1\" cardinality=\"single\" baseType=\"string\">\n"
    "<correctResponse><value>TCP</value></correctResponse>\n"
    "<mapping defaultValue=\"0\"><mapEntry mapKey=\"TCP\" mappedValue=\"1\" caseSensitive=\"false\"/>"
    "<mapEntry mapKey=\"传输控制协议\" mappedValue=\"1\" caseSensitive=\"false\"/></mapping></responseDeclaration>\n"
    "<responseDeclaration identifier=\"R2\" cardinality=\"single\" baseType=\"integer\">\n"
    "<correctResponse><value>443</value></correctResponse></responseDeclaration>\n"
    "<responseDeclaration identifier=\"R3\" cardinality=\"single\" baseType=\"string\">\n"
    "<correctResponse><value>rm -rf</value></correctResponse></responseDeclaration>\n"
    "<outcomeDeclaration identifier=\"MAXSCORE\" cardinality=\"single\" baseType=\"float\"><defaultValue><value>3</value></defaultValue></outcomeDeclaration>\n"
    "<itemBody><p>HTTPS 基于 <textEntryInteraction responseIdentifier=\"R1\" expectedLength=\"10\"/>，"
    "默认端口是 <textEntryInteraction responseIdentifier=\"R2\"/>，强制删除用 "
    "<textEntryInteraction responseIdentifier=\"R3\"/>。</p></itemBody>\n"
    "</assessmentItem>\n";

static const char EXTENDED[] =
    HEAD("Q-short")
    "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"single\" baseType=\"string\">"
    "<correctResponse><value>无连接、不可靠、开销小</value></correctResponse></responseDeclaration>\n"
    "<itemBody><p>简述 <u>UDP</u> 的特点。</p><extendedTextInteraction responseIdentifier=\"RESPONSE\" expectedLines=\"3\"/></itemBody>\n"
    "</assessmentItem>\n";

static const char ESSAY[] =
    HEAD("Q-essay")
    "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"single\" baseType=\"string\"/>\n"
    "<itemBody><extendedTextInteraction responseIdentifier=\"RESPONSE\"><prompt>论述纵深防御。</prompt></extendedTextInteraction></itemBody>\n"
    "</assessmentItem>\n";

static const char MANIFEST[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<manifest xmlns=\"http://www.imsglobal.org/xsd/imscp_v1p1\" identifier=\"m\">\n"
    "<metadata><schema>QTIv2.1 Package</schema><schemaversion>1.0.0</schemaversion></metadata>\n"
    "<organizations/>\n<resources>\n"
    "<resource identifier=\"r1\" type=\"imsqti_item_xmlv2p1\" href=\"items/single.xml\"><file href=\"items/single.xml\"/><file href=\"images/fig.png\"/></resource>\n"
    "<resource identifier=\"r2\" type=\"imsqti_item_xmlv2p1\" href=\"items/ratio.xml\"/>\n"
    "<resource identifier=\"r3\" type=\"imsqti_item_xmlv2p1\" href=\"items/all.xml\"/>\n"
    "<resource identifier=\"r4\" type=\"imsqti_item_xmlv2p2\" href=\"items/tf.xml\"/>\n"
    "<resource identifier=\"r5\" type=\"imsqti_item_xmlv2p1\" href=\"items/fill.xml\"/>\n"
    "<resource identifier=\"r6\" type=\"imsqti_item_xmlv2p1\" href=\"items/short.xml\"/>\n"
    "<resource identifier=\"r7\" type=\"imsqti_item_xmlv2p1\" href=\"./items/essay.xml\"/>\n"
    "<resource identifier=\"t\" type=\"imsqti_test_xmlv2p1\" href=\"test.xml\"/>\n"
    "<resource identifier=\"w\" type=\"webcontent\" href=\"images/fig.png\"/>\n"
    "</resources>\n</manifest>\n";

typedef struct entry {
    const char *name;
    const void *data;
    size_t len;
} entry;

static char *make_zip(const entry *e, int n, size_t *len)
{
    char *path = tmp_path("zip");
    int err;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    cr_assert_not_null(z);
    for (int i = 0; i < n; i++) {
        zip_source_t *s = zip_source_buffer(z, e[i].data, e[i].len, 0);
        cr_assert_not_null(s);
        cr_assert_geq(zip_file_add(z, e[i].name, s, ZIP_FL_ENC_UTF_8), 0);
    }
    cr_assert_eq(zip_close(z), 0);
    char *b = slurp(path, len);
    unlink(path);
    return b;
}

#define E(name, s) {name, s, sizeof s - 1}

static int parse_package(void)
{
    entry e[] = {
        E("imsmanifest.xml", MANIFEST), E("items/single.xml", SINGLE), E("items/ratio.xml", MULTI_RATIO),
        E("items/all.xml", MULTI_ALL), E("items/tf.xml", TF), E("items/fill.xml", FILL),
        E("items/short.xml", EXTENDED), E("items/essay.xml", ESSAY),
        {"images/fig.png", PNG, sizeof PNG},
    };
    size_t len;
    char *zip = make_zip(e, (int)(sizeof e / sizeof e[0]), &len);
    return imp_parse_buffer(IMP_QTI, "bank.zip", zip, len, &S, &D);
}

Test(qti, content_package_with_every_interaction)
{
    int rc = parse_package();
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 7);

    bank_item *it = &S.items[0];
    cr_assert_str_eq(it->uid, "Q-single");
    cr_assert_str_eq(it->file, "bank.zip:items/single.xml");
    cr_assert_eq(it->line, 2);
    cr_assert_eq(it->type, BANK_SINGLE);
    cr_assert_eq(it->n_options, 3);
    cr_assert_str_eq(it->options[1], "传输层");
    cr_assert_str_eq(it->answer, "B");
    cr_assert_eq(it->points_centi, 200);
    cr_assert_eq(it->pin_options, 1);
    cr_assert_not_null(strstr(it->stem, "看图回答"));
    cr_assert_not_null(strstr(it->stem, "TCP 工作在哪一层？"), "the prompt joins the stem: %s", it->stem);
    cr_assert_not_null(strstr(it->stem, "src=\"media:fig.png\""), "%s", it->stem);
    cr_assert_null(strstr(it->stem, "simpleChoice"));
    cr_assert_null(strstr(it->stem, "网络层"));
    cr_assert_eq(it->n_media, 1);
    cr_assert_str_eq(it->media[0].name, "fig.png");
    cr_assert_eq(it->media[0].len, sizeof PNG);
    cr_assert_eq(memcmp(it->media[0].data, PNG, sizeof PNG), 0);
    cr_assert_not_null(strstr(it->explanation, "TCP 是传输层协议。"));

    it = &S.items[1];
    cr_assert_eq(it->type, BANK_MULTI);
    cr_assert_str_eq(it->answer, "AC");
    cr_assert_eq(it->mc_policy, BANK_MC_RATIO);
    cr_assert_eq(it->points_centi, 300, "the mapping's upperBound without MAXSCORE");
    cr_assert_eq(it->pin_options, 0);

    it = &S.items[2];
    cr_assert_eq(it->type, BANK_MULTI);
    cr_assert_str_eq(it->answer, "AB");
    cr_assert_eq(it->mc_policy, BANK_MC_ALL);
    cr_assert_eq(it->pin_options, 1, "a fixed choice pins the options");
    cr_assert_eq(it->points_centi, 100);

    it = &S.items[3];
    cr_assert_eq(it->type, BANK_TF);
    cr_assert_str_eq(it->answer, "F");
    cr_assert_eq(it->n_options, 0);

    it = &S.items[4];
    cr_assert_eq(it->type, BANK_FILL);
    cr_assert_eq(it->points_centi, 300);
    cr_assert_not_null(strstr(it->stem, "HTTPS 基于 {{1}}，默认端口是 {{2}}，强制删除用 {{3}}。"), "%s", it->stem);
    bank_blank *b;
    int nb;
    char why[128];
    cr_assert_eq(bank_fill_key_parse(it->answer, A, &b, &nb, why, sizeof why), 0, "%s", why);
    cr_assert_eq(nb, 3);
    cr_assert_eq(b[0].mode, BANK_BLANK_TEXT);
    cr_assert_eq(b[0].n_accept, 2);
    cr_assert_str_eq(b[0].accept[0], "TCP");
    cr_assert_str_eq(b[0].accept[1], "传输控制协议");
    cr_assert_eq(b[1].mode, BANK_BLANK_NUMERIC);
    cr_assert_float_eq(b[1].value, 443, 1e-9);
    cr_assert_eq(b[2].mode, BANK_BLANK_EXACT, "match_correct compares exactly");
    cr_assert_str_eq(b[2].accept[0], "rm -rf");

    it = &S.items[5];
    cr_assert_eq(it->type, BANK_SHORT);
    cr_assert_not_null(strstr(it->answer, "无连接、不可靠、开销小"));
    cr_assert_not_null(strstr(it->stem, "<u>UDP</u>"), "%s", it->stem);

    it = &S.items[6];
    cr_assert_eq(it->type, BANK_ESSAY);
    cr_assert_null(it->answer);
    cr_assert_not_null(strstr(it->stem, "论述纵深防御。"));
}

Test(qti, single_item_file)
{
    int rc = imp_parse_buffer(IMP_QTI, "tf.xml", TF, sizeof TF - 1, &S, &D);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 1);
    cr_assert_str_eq(S.items[0].file, "tf.xml");

    /* an image next to a lone XML file cannot be reached */
    rc = imp_parse_buffer(IMP_QTI, "single.xml", SINGLE, sizeof SINGLE - 1, &S, &D);
    EXPECT("single.xml:8: img: ../images/fig.png is a file next to the XML; import the content package (.zip) instead");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 1);
}

static int parse_text(const char *name, const char *s)
{
    return imp_parse_buffer(IMP_QTI, name, s, strlen(s), &S, &D);
}

Test(qti, problems_by_file_and_line)
{
    parse_text("order.xml", HEAD("o")
               "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"ordered\" baseType=\"identifier\"/>\n"
               "<itemBody>\n<div><orderInteraction responseIdentifier=\"RESPONSE\">\n"
               "<simpleChoice identifier=\"a\">x</simpleChoice></orderInteraction></div>\n"
               "<hotspotInteraction responseIdentifier=\"RESPONSE\"/>\n</itemBody></assessmentItem>\n");
    parse_text("key.xml", HEAD("k")
               "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"single\" baseType=\"identifier\">\n"
               "<correctResponse><value>ChoiceZ</value></correctResponse></responseDeclaration>\n"
               "<itemBody><choiceInteraction responseIdentifier=\"RESPONSE\" maxChoices=\"1\">"
               "<simpleChoice identifier=\"ChoiceA\">甲</simpleChoice><simpleChoice identifier=\"ChoiceB\">乙</simpleChoice>"
               "</choiceInteraction></itemBody></assessmentItem>\n");
    parse_text("nokey.xml", HEAD("n")
               "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"single\" baseType=\"identifier\"/>\n"
               "<itemBody><choiceInteraction responseIdentifier=\"RESPONSE\" maxChoices=\"1\">"
               "<simpleChoice identifier=\"ChoiceA\">甲</simpleChoice><simpleChoice identifier=\"ChoiceB\">乙</simpleChoice>"
               "</choiceInteraction></itemBody></assessmentItem>\n");
    parse_text("nodecl.xml", HEAD("d")
               "<itemBody><p>x <textEntryInteraction responseIdentifier=\"R9\"/></p></itemBody></assessmentItem>\n");
    parse_text("mixed.xml", HEAD("m")
               "<responseDeclaration identifier=\"R1\" cardinality=\"single\" baseType=\"string\"/>\n"
               "<itemBody>\n<p><textEntryInteraction responseIdentifier=\"R1\"/></p>"
               "<extendedTextInteraction responseIdentifier=\"R1\"/></itemBody></assessmentItem>\n");
    parse_text("empty.xml", HEAD("e") "<itemBody>\n<p>只有文字</p></itemBody></assessmentItem>\n");
    parse_text("root.xml", "<?xml version=\"1.0\"?>\n<quiz/>\n");
    parse_text("unequal.xml", HEAD("u")
               "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"multiple\" baseType=\"identifier\">\n"
               "<correctResponse><value>a</value><value>b</value></correctResponse>"
               "<mapping><mapEntry mapKey=\"a\" mappedValue=\"2\"/><mapEntry mapKey=\"b\" mappedValue=\"1\"/></mapping>"
               "</responseDeclaration>\n"
               "<itemBody><choiceInteraction responseIdentifier=\"RESPONSE\" maxChoices=\"2\">"
               "<simpleChoice identifier=\"a\">甲</simpleChoice><simpleChoice identifier=\"b\">乙</simpleChoice>"
               "<simpleChoice identifier=\"c\">丙</simpleChoice>"
               "</choiceInteraction></itemBody>" MAP "</assessmentItem>\n");
    EXPECT("order.xml:5: orderInteraction: this interaction is not supported",
           "order.xml:7: hotspotInteraction: this interaction is not supported",
           "key.xml:3: correctResponse: ChoiceZ is not the identifier of a choice",
           "nokey.xml:3: correctResponse: is missing: the item has no key",
           "nodecl.xml:3: textEntryInteraction: its responseIdentifier R9 has no responseDeclaration",
           "mixed.xml:4: itemBody: has several interactions of which not all are text entries; such items are not supported",
           "empty.xml:3: itemBody: has no interaction: nothing to answer",
           "root.xml:2: xml: the root element is <quiz>, not <assessmentItem>",
           "unequal.xml:3: mapping: mappedValues 2 and 1 differ; multiple choice gives every correct option an equal share");
    cr_assert_eq(S.n, 0);
}

Test(qti, package_problems)
{
    size_t len;
    entry none[] = {E("items/tf.xml", TF)};
    char *zip = make_zip(none, 1, &len);
    cr_assert_eq(imp_parse_buffer(IMP_QTI, "a.zip", zip, len, &S, &D), 1);

    const char *man = "<manifest><resources>\n"
                      "<resource type=\"imsqti_item_xmlv2p1\" href=\"gone.xml\"/>\n"
                      "<resource type=\"imsqti_item_xmlv2p1\" href=\"items/single.xml\"/>\n"
                      "<resource type=\"imsqti_item_xmlv2p1\"/>\n"
                      "</resources></manifest>\n";
    entry missing[] = {{"imsmanifest.xml", man, strlen(man)}, E("items/single.xml", SINGLE)};
    zip = make_zip(missing, 2, &len);
    cr_assert_eq(imp_parse_buffer(IMP_QTI, "b.zip", zip, len, &S, &D), 1);

    const char *empty = "<manifest><resources><resource type=\"webcontent\" href=\"x\"/></resources></manifest>";
    entry noitems[] = {{"imsmanifest.xml", empty, strlen(empty)}};
    zip = make_zip(noitems, 1, &len);
    cr_assert_eq(imp_parse_buffer(IMP_QTI, "c.zip", zip, len, &S, &D), 1);

    /* a damaged zip: the first half of a good one */
    entry good[] = {E("imsmanifest.xml", MANIFEST), E("items/tf.xml", TF)};
    zip = make_zip(good, 2, &len);
    cr_assert_eq(imp_parse_buffer(IMP_QTI, "d.zip", zip, len / 2, &S, &D), 1);

    EXPECT("a.zip:1: imsmanifest.xml: is missing: not a QTI content package",
           "b.zip:imsmanifest.xml:2: resource: gone.xml is not in the package",
           "b.zip:items/single.xml:8: img: images/fig.png is not in the package",
           "b.zip:imsmanifest.xml:4: resource: has no href",
           "c.zip:imsmanifest.xml:1: resources: lists no QTI item (imsqti_item_xmlv2p1 or v2p2)",
           "d.zip:1: zip: is not a readable zip file (damaged or truncated)");
    cr_assert_eq(S.n, 0);
}

Test(qti, truncated_duplicate_and_entities)
{
    int rc = imp_parse_buffer(IMP_QTI, "cut.xml", SINGLE, sizeof SINGLE / 2, &S, &D);
    cr_assert_eq(rc, 1);
    cr_assert_eq(D.n, 1, "%s", D.n > 1 ? D.lines[1] : "");
    cr_assert_not_null(strstr(D.lines[0], "cut.xml:"));
    cr_assert_not_null(strstr(D.lines[0], ": xml: is not well-formed XML ("), "%s", D.lines[0]);

    D.n = 0;
    char *tf2 = kc_arena_strdup(A, TF);
    memcpy(strstr(tf2, "Q-tf"), "Q-t2", 4);
    entry e[] = {{"imsmanifest.xml",
                  "<manifest><resources><resource type=\"imsqti_item_xmlv2p1\" href=\"a.xml\"/>"
                  "<resource type=\"imsqti_item_xmlv2p1\" href=\"b.xml\"/></resources></manifest>", 0},
                 E("a.xml", TF), {"b.xml", tf2, strlen(tf2)}};
    e[0].len = strlen(e[0].data);
    size_t len;
    char *zip = make_zip(e, 3, &len);
    rc = imp_parse_buffer(IMP_QTI, "dup.zip", zip, len, &S, &D);
    EXPECT("dup.zip:b.xml:2: 题干: duplicate of the item on dup.zip:a.xml:2");
    cr_assert_eq(rc, 1);

    D.n = 0;
    const char *bomb =
        "<?xml version=\"1.0\"?>\n<!DOCTYPE assessmentItem [\n"
        "<!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
        "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
        "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\"><!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
        "<!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\"><!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
        "<!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\"><!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">\n"
        "]>\n<assessmentItem identifier=\"x\"><itemBody><p>&i;</p></itemBody></assessmentItem>\n";
    bank_itemset_init(&S, A);   /* the duplicates above would be reported again */
    size_t before = kc_arena_used(A);
    clock_t t0 = clock();
    rc = parse_text("bomb.xml", bomb);
    cr_assert_eq(rc, 1);
    cr_assert_eq(D.n, 1);
    cr_assert_str_eq(D.lines[0], "bomb.xml:2: xml: declares XML entities, which are not allowed in a question file");
    cr_assert_lt(kc_arena_used(A) - before, 1 << 20);
    cr_assert_lt((double)(clock() - t0) / CLOCKS_PER_SEC, 2.0);
}

/* ---- export and round trip ---- */

Test(qti, round_trip_through_a_package)
{
    cr_assert_eq(parse_package(), 0);
    char *path = tmp_path("zip");
    int rc = imp_export_file(IMP_QTI, &S, path, &D);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    size_t len;
    char *zip = slurp(path, &len);
    unlink(path);
    cr_assert_eq(memcmp(zip, "PK", 2), 0);
    bank_itemset again;
    bank_itemset_init(&again, A);
    rc = imp_parse_buffer(IMP_QTI, "again.zip", zip, len, &again, &D);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    kc_same_items(&S, &again, KC_SAME_MC_POLICY | KC_SAME_MEDIA);
    cr_assert_str_eq(again.items[0].file, "again.zip:items/i1.xml");
}

Test(qti, export_numeric_tolerance_and_reports)
{
    bank_item *it = bank_itemset_push(&S);
    it->uid = "N-1";
    it->type = BANK_FILL;
    it->stem = "π≈（ ），e≈（ ）";
    it->answer = "num:3.14±0.01|num:2.72+-0.01";
    it->points_centi = 200;
    it->difficulty = 2;
    it->occupation = "4-04-04-02";
    static const char *tags[] = {"数学", "常数 & 近似"};
    it->tags = tags;
    it->n_tags = 2;
    it = bank_itemset_push(&S);
    it->uid = "R-2";
    it->type = BANK_FILL;
    it->stem = "IP：____";
    it->answer = "re:^10\\..*$";
    it->points_centi = 100;
    it = bank_itemset_push(&S);
    it->uid = "C-3";
    it->type = BANK_COMPOSITE;
    it->stem = "案例";
    it = bank_itemset_push(&S);
    it->uid = "H-4";
    it->type = BANK_MULTI;
    it->stem = "多选";
    it->n_options = 2;
    it->options[0] = "a";
    it->options[1] = "b";
    it->answer = "AB";
    it->mc_policy = BANK_MC_HALF;
    it->points_centi = 100;
    char *path = tmp_path("zip");
    int rc = imp_export_file(IMP_QTI, &S, path, &D);
    EXPECT("N-1: 职业代码: QTI items cannot carry this field; left out",
           "R-2: 答案: QTI cannot carry a regular-expression blank; left out",
           "C-3: 题型: QTI cannot carry 组合题 (composite); left out",
           "H-4: 多选计分: QTI's response templates cannot carry half; exported as all (match_correct)");
    cr_assert_eq(rc, 1);
    size_t len;
    char *zip = slurp(path, &len);
    unlink(path);
    bank_itemset back;
    bank_itemset_init(&back, A);
    D.n = 0;
    rc = imp_parse_buffer(IMP_QTI, "n.zip", zip, len, &back, &D);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(back.n, 2);
    bank_item *n1 = &back.items[0];
    cr_assert_str_eq(n1->uid, "N-1");
    cr_assert_eq(n1->points_centi, 200);
    cr_assert_str_eq(n1->stem, "π≈（ ），e≈（ ）", "the marks travel as labels: %s", n1->stem);
    cr_assert_eq(n1->difficulty, 2, "difficulty travels as LOM metadata");
    cr_assert_eq(n1->n_tags, 2);
    cr_assert_str_eq(n1->tags[0], "数学");
    cr_assert_str_eq(n1->tags[1], "常数 & 近似");
    bank_blank *b;
    int nb;
    char why[128];
    cr_assert_eq(bank_fill_key_parse(n1->answer, A, &b, &nb, why, sizeof why), 0, "%s", why);
    cr_assert_eq(nb, 2);
    cr_assert_eq(b[0].mode, BANK_BLANK_NUMERIC);
    cr_assert_float_eq(b[0].value, 3.14, 1e-9);
    cr_assert_float_eq(b[0].tolerance, 0.01, 1e-9);
    cr_assert_float_eq(b[1].value, 2.72, 1e-9);
    cr_assert_eq(back.items[1].mc_policy, BANK_MC_ALL);
}

Test(qti, ten_megabyte_item_is_refused_quickly)
{
    size_t pad = 10u << 20;
    const char *head = HEAD("big") "<responseDeclaration identifier=\"RESPONSE\" cardinality=\"single\" baseType=\"identifier\">"
                       "<correctResponse><value>T</value></correctResponse></responseDeclaration>\n<itemBody><p>";
    const char *tail = "</p><choiceInteraction responseIdentifier=\"RESPONSE\" maxChoices=\"1\">"
                       "<simpleChoice identifier=\"T\">对</simpleChoice><simpleChoice identifier=\"F\">错</simpleChoice>"
                       "</choiceInteraction></itemBody></assessmentItem>\n";
    size_t hl = strlen(head), tl = strlen(tail);
    char *buf = malloc(hl + pad + tl);
    cr_assert_not_null(buf);
    memcpy(buf, head, hl);
    memset(buf + hl, 'x', pad);
    memcpy(buf + hl + pad, tail, tl);
    clock_t t0 = clock();
    int rc = imp_parse_buffer(IMP_QTI, "big.xml", buf, hl + pad + tl, &S, &D);
    free(buf);
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 0);
    cr_assert_eq(D.n, 1, "%s", D.n ? D.lines[0] : "");
    cr_assert_eq(strncmp(D.lines[0], "big.xml:", 8), 0, "%s", D.lines[0]);
    cr_assert_lt((double)(clock() - t0) / CLOCKS_PER_SEC, 20.0);
}

/* The demo bank (every type the CSV template has) through this format and back: each item
 * either comes back the same or was reported as left out. */
Test(qti, demo_bank_round_trip) { kc_demo_round_trip(IMP_QTI, "zip", KC_SAME_RATIO | KC_SAME_DIFFICULTY | KC_SAME_TAGS); }

/* Every image an item refers to (stem, option) is in the package; QTI has no composite. */
Test(qti, images_round_trip) { kc_image_round_trip(IMP_QTI, "zip", 0, 1); }
Test(qti, missing_image_is_reported_and_left_out) { kc_missing_image_export(IMP_QTI, "zip", 0); }
