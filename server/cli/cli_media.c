/* `kaochang media url SHA256`: a signed /media/ link made with the server's key, for an
 * operator who needs to look at one stored image or attachment (and for the tests). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

const char cli_media_help[] =
    "Usage: kaochang media url SHA256... [--ttl DURATION | --expires MS]\n\n"
    "Prints the path of a signed link to each stored media SHA256 (64 hex digits), one\n"
    "a line, as the server hands them out: /media/SHA256?e=EXPIRY&s=SIGNATURE. Prefix it\n"
    "with the server's address. The link works until --expires (ms since the epoch, UTC)\n"
    "or for --ttl (e.g. 10m, 2h; default 1h).\n";

static int url_cmd(srv_config *cfg, int argc, char **argv)
{
    int64_t expires = 0, ttl_s = 3600;
    int nsha = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--ttl") && i + 1 < argc) {
            if (kc_parse_duration(argv[++i], &ttl_s) || ttl_s <= 0) {
                fprintf(stderr, "kaochang media url: --ttl: not a duration: %s\n", argv[i]);
                return 2;
            }
        } else if (!strcmp(argv[i], "--expires") && i + 1 < argc) {
            char *end;
            expires = strtoll(argv[++i], &end, 10);
            if (*end || expires <= 0) {
                fprintf(stderr, "kaochang media url: --expires: not a time in ms: %s\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] != '-') {
            if (!media_sha_ok(argv[i])) {
                fprintf(stderr, "kaochang media url: SHA256: expected 64 lower-case hex digits, got %.80s\n", argv[i]);
                return 2;
            }
            argv[nsha++] = argv[i];          /* the SHAs, in order, at the front */
        } else {
            fprintf(stderr, "kaochang media url: unexpected argument %s (see kaochang media --help)\n", argv[i]);
            return 2;
        }
    }
    if (!nsha) {
        fprintf(stderr, "kaochang media url: SHA256: expected 64 lower-case hex digits\n");
        return 2;
    }
    kc_db db;
    unsigned char key[32], mkey[32];
    if (kc_db_open(&db, &cfg->db) || exam_token_secret_load(&db, key)) {
        fprintf(stderr, "kaochang: %s\n", db.err);
        kc_db_close(&db);
        return 1;
    }
    kc_db_close(&db);
    media_key_derive(key, mkey);
    int64_t at = expires ? expires : kc_now_ms() + ttl_s * 1000;
    for (int i = 0; i < nsha; i++) {
        char url[MEDIA_URL_MAX];
        media_url(mkey, argv[i], at, url, sizeof url);
        printf("%s\n", url);
    }
    return 0;
}

int cli_media(srv_config *cfg, int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "url")) return url_cmd(cfg, argc - 1, argv + 1);
    fprintf(stderr, "kaochang media: expected \"url\" (see kaochang media --help)\n");
    return 2;
}
