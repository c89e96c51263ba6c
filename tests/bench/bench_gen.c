/* Synthetic data for `make bench`: a three-level blueprint, an item bank over its 鉴定点,
 * candidates and a 按鉴定点组卷 template, all for a made-up occupation and written
 * deterministically from a seed (the same seed gives byte-identical files).
 *
 *   bench_gen OUTDIR [--seed N] [--items N] [--candidates N] [--tickets PREFIX] [--rooms]
 *
 * Writes OUTDIR/blueprint.csv, bank.csv, candidates.csv and template.json. The 准考证号 are
 * PREFIX (default B26) and a 7-digit number; the same seed gives the same 身份证号 and names
 * whatever the prefix and count, so a second session can have the same people. Standalone on
 * purpose (plain C, no project headers): the benchmark must not depend on the code it
 * measures to make its input. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define OCCUPATION "4-99-00-01"
#define OCC_NAME   "基准测试员"
#define LEVEL      4
#define TPL_CODE   "BENCH-T"

/* Level-1 weights (%), then the fan-out below each range, and 鉴定点 per leaf range. */
static const int TOP_WEIGHT[] = {30, 25, 20, 15, 10};
#define N_TOP   5
#define N_MID   4
#define N_LEAF  5
#define PTS_MIN 2
#define PTS_MAX 4

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64: small, and the same on every machine. */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static unsigned below(unsigned n) { return (unsigned)(rnd() % n); }

static const char *const TOPIC[] = {
    "设备巡检", "数据备份", "访问控制", "日志审计", "应急响应", "配置管理", "漏洞扫描", "身份认证",
    "网络隔离", "介质管理", "变更管理", "容量规划", "安全培训", "资产登记", "密钥管理", "病毒防护",
    "链路冗余", "权限回收", "补丁分发", "机房环境", "电源保障", "故障定位", "性能监测", "服务恢复",
};
static const char *const ASPECT[] = {
    "首要步骤", "基本要求", "常见误区", "记录内容", "责任划分", "检查周期", "操作顺序", "验收标准",
    "适用范围", "风险来源", "处置原则", "评价指标",
};
static const char *const OPTION[] = {
    "先核对记录再操作", "由值班人员独立完成", "按规程逐项确认", "立即上报主管", "定期复核并签字",
    "保留原始数据", "在测试环境验证", "通知相关部门", "更新台账", "限制访问范围", "采用双人复核",
    "记录时间与人员", "关闭无关服务", "检查物理连接", "恢复默认配置", "对比基线差异",
};
#define N_OF(a) (sizeof a / sizeof a[0])

static const char *const SURNAME[] = {
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "胡", "朱", "高", "林",
    "何", "郭", "马", "罗", "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧",
};
static const char *const GIVEN[] = {
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "玉", "兰", "文", "辉", "建", "国", "红", "燕",
};
static const char *const REGION[] = {
    "110101", "310104", "440106", "320102", "330106", "420102", "510104", "610103", "370102", "210102",
};

static int fail(const char *what)
{
    fprintf(stderr, "bench_gen: %s: %s\n", what, strerror(errno));
    return 1;
}

static FILE *open_out(const char *dir, const char *name, char *path, size_t len)
{
    snprintf(path, len, "%s/%s", dir, name);
    return fopen(path, "w");
}

/* Splits total (in 0.01 %) into n positive parts that add up exactly. */
static void split(long total, int n, long *out)
{
    int share[16], sum = 0;
    for (int i = 0; i < n; i++) sum += share[i] = 2 + (int)below(3);
    long given = 0;
    for (int i = 0; i < n; i++) {
        out[i] = i == n - 1 ? total - given : total * share[i] / sum;
        given += out[i];
    }
}

static void pct(long centi, char *buf, size_t len)
{
    if (centi % 100) snprintf(buf, len, "%ld.%02ld", centi / 100, centi % 100);
    else snprintf(buf, len, "%ld", centi / 100);
}

struct point { char code[24]; char name[96]; char imp; };

/* One row of the blueprint file: depth 1..3 for a range, 0 for a 鉴定点. */
struct bp_row { int depth; char code[24]; char name[96]; long weight; int point; };

static int write_blueprint(const char *dir, struct point **pts, int *npts)
{
    int cap = N_TOP * (1 + N_MID * (1 + N_LEAF * (1 + PTS_MAX))), nr = 0, n = 0;
    struct bp_row *r = calloc((size_t)cap, sizeof *r);
    struct point *p = calloc((size_t)(N_TOP * N_MID * N_LEAF * PTS_MAX), sizeof *p);
    if (!r || !p) return fail("memory");
    for (int a = 0; a < N_TOP; a++) {
        long mid[N_MID], leaf[N_LEAF];
        r[nr] = (struct bp_row){1, "", "", TOP_WEIGHT[a] * 100L, -1};
        snprintf(r[nr].code, sizeof r[nr].code, "%c", 'A' + a);
        snprintf(r[nr++].name, sizeof r->name, "%s知识", TOPIC[a]);
        split(TOP_WEIGHT[a] * 100L, N_MID, mid);
        for (int b = 0; b < N_MID; b++) {
            r[nr] = (struct bp_row){2, "", "", mid[b], -1};
            snprintf(r[nr].code, sizeof r[nr].code, "%c-%02d", 'A' + a, b + 1);
            snprintf(r[nr++].name, sizeof r->name, "%s", TOPIC[(a * N_MID + b + 5) % N_OF(TOPIC)]);
            split(mid[b], N_LEAF, leaf);
            for (int c = 0; c < N_LEAF; c++) {
                r[nr] = (struct bp_row){3, "", "", leaf[c], -1};
                snprintf(r[nr].code, sizeof r[nr].code, "%c-%02d-%02d", 'A' + a, b + 1, c + 1);
                snprintf(r[nr++].name, sizeof r->name, "%s的%s", TOPIC[(a * 7 + b * 3 + c) % N_OF(TOPIC)],
                         ASPECT[(b * N_LEAF + c) % N_OF(ASPECT)]);
                int k = PTS_MIN + (int)below(PTS_MAX - PTS_MIN + 1);
                for (int d = 0; d < k; d++) {
                    r[nr] = (struct bp_row){0, "", "", 0, n};
                    snprintf(r[nr].code, sizeof r[nr].code, "%c-%02d-%02d-%03d", 'A' + a, b + 1, c + 1, d + 1);
                    snprintf(r[nr].name, sizeof r->name, "%s%s（要点%d）",
                             TOPIC[(a + b * 5 + c * 11 + d) % N_OF(TOPIC)], ASPECT[(c + d) % N_OF(ASPECT)], d + 1);
                    memcpy(p[n].code, r[nr].code, sizeof p->code);
                    memcpy(p[n++].name, r[nr++].name, sizeof p->name);
                }
            }
        }
    }

    /* X/Y/Z as the guidance has it (about 85/12/3 %), exactly, over a shuffled order. */
    int *order = malloc((size_t)n * sizeof *order);
    if (!order) return fail("memory");
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)below((unsigned)i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    int nz = (n * 3 + 50) / 100, ny = (n * 12 + 50) / 100;
    for (int i = 0; i < n; i++) p[order[i]].imp = i < nz ? 'Z' : i < nz + ny ? 'Y' : 'X';
    free(order);

    char path[4096], w[32];
    FILE *f = open_out(dir, "blueprint.csv", path, sizeof path);
    if (!f) return fail(path);
    fputs("级别,代码,名称,鉴定比重,重要程度\n", f);
    for (int i = 0; i < nr; i++) {
        if (r[i].depth) {
            pct(r[i].weight, w, sizeof w);
            fprintf(f, "%d,%s,%s,%s,\n", r[i].depth, r[i].code, r[i].name, w);
        } else {
            fprintf(f, "鉴定点,%s,%s,,%c\n", r[i].code, r[i].name, p[r[i].point].imp);
        }
    }
    free(r);
    if (fclose(f)) return fail(path);
    *pts = p;
    *npts = n;
    return 0;
}

static int difficulty(void)
{
    unsigned r = below(100);        /* 10/25/35/20/10 % */
    return r < 10 ? 1 : r < 35 ? 2 : r < 70 ? 3 : r < 90 ? 4 : 5;
}

/* Picks k distinct option texts. */
static void pick_options(int k, const char **out)
{
    int idx[N_OF(OPTION)];
    for (size_t i = 0; i < N_OF(OPTION); i++) idx[i] = (int)i;
    for (int i = 0; i < k; i++) {
        int j = i + (int)below((unsigned)(N_OF(OPTION) - i)), t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        out[i] = OPTION[idx[i]];
    }
}

static int write_bank(const char *dir, const struct point *pts, int npts, int items)
{
    char path[4096];
    FILE *f = open_out(dir, "bank.csv", path, sizeof path);
    if (!f) return fail(path);
    fputs("试题编号,题型,题干,选项A,选项B,选项C,选项D,选项E,答案,分值,难度,鉴定点代码,解析,职业代码,等级,选项固定\n", f);
    for (int k = 0; k < items; k++) {
        const struct point *pt = &pts[k % npts];
        /* Every 鉴定点 gets every type: 3 of 5 single, 1 multi, 1 tf. */
        int kind = (k / npts) % 5;
        const char *topic = TOPIC[below(N_OF(TOPIC))], *aspect = ASPECT[below(N_OF(ASPECT))];
        const char *opt[5] = {"", "", "", "", ""};
        char key[8] = "";
        int pin = 0;
        fprintf(f, "BX-%05d,", k + 1);
        if (kind < 3) {
            pick_options(4, opt);
            if (below(100) < 3) {
                opt[3] = "以上都对";
                pin = 1;
            }
            key[0] = (char)('A' + below(4));
            fprintf(f, "单选题,第%d题：在%s工作中，关于“%s”的%s，下列说法正确的是（ ）。", k + 1, topic,
                    pt->name, aspect);
        } else if (kind == 3) {
            int no = 4 + (int)below(2), nk = 2 + (int)below((unsigned)no - 2), m = 0;
            pick_options(no, opt);
            unsigned mask = 0;
            while (__builtin_popcount(mask) < nk) mask |= 1u << below((unsigned)no);
            for (int i = 0; i < no; i++)
                if (mask & (1u << i)) key[m++] = (char)('A' + i);
            key[m] = 0;
            fprintf(f, "多选题,第%d题：%s中涉及“%s”的%s，下列做法正确的有（ ）。", k + 1, topic, pt->name, aspect);
        } else {
            snprintf(key, sizeof key, "%s", below(2) ? "对" : "错");
            fprintf(f, "判断题,第%d题：%s工作中，“%s”的%s应当%s。", k + 1, topic, pt->name, aspect,
                    OPTION[below(N_OF(OPTION))]);
        }
        fprintf(f, ",%s,%s,%s,%s,%s,%s,1,%d,%s,依据%s相关规程。,%s,%d,%s\n", opt[0], opt[1], opt[2], opt[3],
                opt[4], key, difficulty(), pt->code, topic, OCCUPATION, LEVEL, pin ? "是" : "否");
    }
    if (fclose(f)) return fail(path);
    return 0;
}

static void id_number(int i, char out[19])
{
    static const int w[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char check[] = "10X98765432";
    /* Unique by construction: the birth day steps every 1000 candidates, the sequence
     * number within them. */
    int day = (i / 1000) * 37 + (int)below(37);
    int y = 1970 + day / 336, mo = 1 + (day % 336) / 28, d = 1 + day % 28;
    snprintf(out, 19, "%s%04d%02d%02d%03d", REGION[below(N_OF(REGION))], y, mo, d, i % 1000);
    int sum = 0;
    for (int k = 0; k < 17; k++) sum += (out[k] - '0') * w[k];
    out[17] = check[sum % 11];
    out[18] = 0;
}

static int write_candidates(const char *dir, int n, const char *prefix, int rooms)
{
    char path[4096], id[19];
    FILE *f = open_out(dir, "candidates.csv", path, sizeof path);
    if (!f) return fail(path);
    fputs(rooms ? "准考证号,身份证号,姓名,考场,座位号\n" : "准考证号,身份证号,姓名\n", f);
    for (int i = 0; i < n; i++) {
        id_number(i, id);
        fprintf(f, "%s%07d,%s,%s%s", prefix, i + 1, id, SURNAME[below(N_OF(SURNAME))], GIVEN[below(N_OF(GIVEN))]);
        if (below(2)) fputs(GIVEN[below(N_OF(GIVEN))], f);
        if (rooms) fprintf(f, ",第%03d考场,%d", i / 30 + 1, i % 30 + 1);
        fputc('\n', f);
    }
    if (fclose(f)) return fail(path);
    return 0;
}

static int write_template(const char *dir)
{
    char path[4096];
    FILE *f = open_out(dir, "template.json", path, sizeof path);
    if (!f) return fail(path);
    fprintf(f,
            "{\n"
            "  \"code\": \"%s\",\n"
            "  \"title\": \"%s（四级）理论知识 基准试卷\",\n"
            "  \"occupation\": \"%s\",\n"
            "  \"level\": %d,\n"
            "  \"part\": \"theory\",\n"
            "  \"mode\": \"blueprint\",\n"
            "  \"total\": 100,\n"
            "  \"exposure_cap\": 100,\n"
            "  \"sections\": [\n"
            "    {\"title\": \"一、单项选择题\", \"type\": \"single\", \"count\": 60, \"points\": 1},\n"
            "    {\"title\": \"二、多项选择题\", \"type\": \"multi\", \"count\": 20, \"points\": 1},\n"
            "    {\"title\": \"三、判断题\", \"type\": \"tf\", \"count\": 20, \"points\": 1}\n"
            "  ]\n"
            "}\n",
            TPL_CODE, OCC_NAME, OCCUPATION, LEVEL);
    if (fclose(f)) return fail(path);
    return 0;
}

static int number(const char *flag, const char *v, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || x < lo || x > hi) {
        fprintf(stderr, "bench_gen: %s: expected a number from %ld to %ld\n", flag, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    long seed = 1, items = 20000, cands = 10000;
    const char *prefix = "B26";
    int rooms = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed")) {
            if (number("--seed", i + 1 < argc ? argv[++i] : NULL, 0, 0x7fffffffL, &seed)) return 2;
        } else if (!strcmp(argv[i], "--items")) {
            if (number("--items", i + 1 < argc ? argv[++i] : NULL, 1, 1000000, &items)) return 2;
        } else if (!strcmp(argv[i], "--candidates")) {
            if (number("--candidates", i + 1 < argc ? argv[++i] : NULL, 1, 9999999, &cands)) return 2;
        } else if (!strcmp(argv[i], "--tickets")) {
            prefix = i + 1 < argc ? argv[++i] : "";
            size_t n = strspn(prefix, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
            if (!*prefix || prefix[n] || n > 8) {
                fprintf(stderr, "bench_gen: --tickets: expected 1 to 8 capital letters or digits\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--rooms")) {
            rooms = 1;
        } else if (argv[i][0] != '-' && !dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, "usage: bench_gen OUTDIR [--seed N] [--items N] [--candidates N] [--tickets PREFIX] [--rooms]\n");
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "usage: bench_gen OUTDIR [--seed N] [--items N] [--candidates N] [--tickets PREFIX] [--rooms]\n");
        return 2;
    }
    if (mkdir(dir, 0777) && errno != EEXIST) return fail(dir);
    rng_state = (uint64_t)seed;
    struct point *pts;
    int npts;
    if (write_blueprint(dir, &pts, &npts)) return 1;
    int rc = write_bank(dir, pts, npts, (int)items) || write_candidates(dir, (int)cands, prefix, rooms) ||
             write_template(dir);
    free(pts);
    if (!rc) printf("bench_gen: %s: blueprint with %d 鉴定点, %ld items, %ld candidates%s, template %s\n", dir,
                    npts, items, cands, rooms ? " (with 考场, 座位号)" : "", TPL_CODE);
    return rc;
}
