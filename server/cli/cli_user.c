/* `kaochang user add|list`: staff accounts for the browser pages. Passwords are read from
 * a file or stdin (never from the command line, where `ps` would show them) and stored as
 * Argon2id strings. */
#include "cli.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

const char cli_user_help[] =
    "Usage: kaochang user add --login LOGIN --name NAME --roles ROLE[,ROLE...]\n"
    "                         [--password-file FILE]\n"
    "       kaochang user list\n\n"
    "add creates a staff account (or replaces the name, roles and password of LOGIN).\n"
    "The password is the first line of FILE, or of stdin without --password-file; at\n"
    "least 8 characters. It is stored as an Argon2id hash.\n"
    "  --roles           admin, author (命题员), reviewer (审核员), affairs, proctor,\n"
    "                    examiner, supervisor\n"
    "list prints every account: login, name, roles, last login (UTC).\n";

static const char SQL_USER_ADD[] =
    "INSERT INTO staff_user (login, name, roles, password_hash) VALUES (?, ?, ?, ?)"
    " ON DUPLICATE KEY UPDATE name = VALUES(name), roles = VALUES(roles),"
    " password_hash = VALUES(password_hash), disabled = 0";
static const char SQL_USER_LIST[] =
    "SELECT login, name, roles, disabled, last_login_at FROM staff_user ORDER BY login";

static int read_password(const char *file, char *pw, size_t cap)
{
    FILE *f = file ? fopen(file, "r") : stdin;
    if (!f) {
        fprintf(stderr, "kaochang user add: cannot read %s\n", file);
        return -1;
    }
    int ok = fgets(pw, (int)cap, f) != NULL;
    if (file) fclose(f);
    if (!ok) {
        fprintf(stderr, "kaochang user add: no password given (%s is empty)\n", file ? file : "stdin");
        return -1;
    }
    pw[strcspn(pw, "\r\n")] = 0;
    if (strlen(pw) < 8) {
        fprintf(stderr, "kaochang user add: the password must have at least 8 characters\n");
        return -1;
    }
    return 0;
}

static int user_add(srv_config *cfg, int argc, char **argv)
{
    const char *login = NULL, *name = NULL, *roles = NULL, *pwfile = NULL;
    for (int i = 0; i < argc; i++) {
        const char **dst = !strcmp(argv[i], "--login") ? &login
                         : !strcmp(argv[i], "--name") ? &name
                         : !strcmp(argv[i], "--roles") ? &roles
                         : !strcmp(argv[i], "--password-file") ? &pwfile : NULL;
        if (!dst || i + 1 >= argc) {
            fprintf(stderr, "kaochang user add: unexpected argument \"%s\" (see --help)\n", argv[i]);
            return 2;
        }
        *dst = argv[++i];
    }
    if (!login || !name || !roles) {
        fprintf(stderr, "kaochang user add: needs --login, --name and --roles\n");
        return 2;
    }
    if (!*login || strlen(login) > 64 || strlen(name) > 128 || !*name) {
        fprintf(stderr, "kaochang user add: login 1-64 and name 1-128 characters\n");
        return 2;
    }
    unsigned r;
    char bad[48], canon[200];
    if (staff_roles_parse(roles, &r, bad, sizeof bad) || !r) {
        fprintf(stderr, "kaochang user add: --roles: unknown role \"%s\"\n", r ? bad : roles);
        return 2;
    }
    staff_roles_format(r, canon, sizeof canon);
    char pw[257], hash[crypto_pwhash_STRBYTES];
    if (read_password(pwfile, pw, sizeof pw)) return 1;
    int hrc = crypto_pwhash_str(hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                crypto_pwhash_MEMLIMIT_INTERACTIVE);
    sodium_memzero(pw, sizeof pw);
    if (hrc) {
        fprintf(stderr, "kaochang user add: out of memory while hashing the password\n");
        return 1;
    }
    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    int rc = kc_db_exec(&db, SQL_USER_ADD, "ssss", login, name, canon, hash);
    if (rc) fprintf(stderr, "kaochang user add: %s\n", db.err);
    else printf("user %s (%s): roles %s\n", login, name, canon);
    kc_db_close(&db);
    return rc ? 1 : 0;
}

static int user_list(srv_config *cfg)
{
    kc_db db;
    if (cli_db_open(&db, cfg)) return 1;
    char login[65], name[520], roles[200];
    int64_t disabled, last;
    int rc = kc_db_query(&db, SQL_USER_LIST, "", "sssit", login, sizeof login, name, sizeof name,
                          roles, sizeof roles, &disabled, &last);
    int n = 0;
    while (!rc && (rc = kc_db_fetch(&db, SQL_USER_LIST)) == 1) {
        char ts[32] = "-";
        if (last) kc_format_iso(last, ts, sizeof ts);
        printf("%-16s %-20s %-32s %s%s\n", login, name, roles, ts, disabled ? " (disabled)" : "");
        n++;
        rc = 0;
    }
    kc_db_done(&db, SQL_USER_LIST);
    if (rc < 0) fprintf(stderr, "kaochang user list: %s\n", db.err);
    else printf("(%d user%s)\n", n, n == 1 ? "" : "s");
    kc_db_close(&db);
    return rc < 0 ? 1 : 0;
}

int cli_user(srv_config *cfg, int argc, char **argv)
{
    if (argc >= 1 && !strcmp(argv[0], "add")) return user_add(cfg, argc - 1, argv + 1);
    if (argc == 1 && !strcmp(argv[0], "list")) return user_list(cfg);
    fprintf(stderr, "kaochang user: expected \"add\" or \"list\" (see kaochang user --help)\n");
    return 2;
}
