/* server/cli: the command line (prefix cli_): argument parsing and printing only; each
 * command calls a function of a module (bank/, importers/, exam/, staff/ …). */
#ifndef KAOCHANG_CLI_H
#define KAOCHANG_CLI_H

#include "../srv.h"
#include "../net/net.h"
#include "../exam/exam.h"
#include "../staff/staff.h"
#include "../media/media.h"
#include "../../bank/bank.h"
#include "../../importers/imp.h"

/* Options of a subcommand: "--name value" or "--name=value"; flags take no value. */
struct cli_opt {
    const char *name;
    int takes_value;
    const char **value;
    int *flag;
};
/* Fills opts and up to maxpos positional arguments; 0, or 2 after printing why. */
int cli_parse_opts(const char *cmd, struct cli_opt *opts, int argc, char **argv, char **pos,
                   int maxpos, int *npos);
/* A CSV field on stdout, quoted when it must be; display width (CJK takes two columns). */
void cli_csv_field(const char *s);
int cli_width(const char *s);
/* `kaochang paper create`, `session …`, `results` (cli_session.c); `bank …` (cli_bank.c). */
int cli__paper(srv_config *cfg, int argc, char **argv);
int cli__session(srv_config *cfg, int argc, char **argv);
int cli__results(srv_config *cfg, int argc, char **argv);
int cli__attempt(srv_config *cfg, int argc, char **argv);
int cli__bank(srv_config *cfg, int argc, char **argv);
/* Opens the CLI's connection; on failure prints "kaochang: why" and returns 1. */
int cli_db_open(kc_db *db, const srv_config *cfg);
/* `kaochang user …` (cli_user.c). */
int cli_user(srv_config *cfg, int argc, char **argv);
extern const char cli_user_help[];
/* `kaochang paper template …` and `session prepare|verify|report|paper` (cli_paper.c). */
int cli_template(srv_config *cfg, int argc, char **argv);
int cli_prepare(srv_config *cfg, const char *sub, int argc, char **argv);
extern const char cli_template_help[];
extern const char cli_prepare_help[];
/* `kaochang media url` (cli_media.c). */
int cli_media(srv_config *cfg, int argc, char **argv);
extern const char cli_media_help[];
/* `kaochang session practical|schedule` (cli_practical.c); argv[0] names which. Its help
 * follows the session help. */
int cli_practical(srv_config *cfg, int argc, char **argv);
extern const char cli_practical_help[];

/* The whole command line (main.c). */
int cli_main(int argc, char **argv);

#endif
