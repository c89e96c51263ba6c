/* The command line's shared declarations (until server/cli/). */
#ifndef KAOCHANG_SRV_INT_H
#define KAOCHANG_SRV_INT_H

#include "srv.h"
#include "../bank/bank.h"
#include "../proctoring/proct.h"

#include "net/net.h"
#include "exam/exam.h"
#include "staff/staff.h"
#include "media/media.h"

/* Opens the CLI's connection; on failure prints "kaochang: why" and returns 1. */
int cli_db_open(kc_db *db, const srv_config *cfg);
/* `kaochang user …` (srv_cli_user.c). */
int cli_user(srv_config *cfg, int argc, char **argv);
extern const char cli_user_help[];
/* `kaochang paper template …` and `session prepare|verify|report|paper` (srv_cli_paper.c). */
int cli_template(srv_config *cfg, int argc, char **argv);
int cli_prepare(srv_config *cfg, const char *sub, int argc, char **argv);
extern const char cli_template_help[];
extern const char cli_prepare_help[];
/* `kaochang media url` (srv_cli_media.c). */
int cli_media(srv_config *cfg, int argc, char **argv);
extern const char cli_media_help[];
/* `kaochang session practical|schedule` (srv_cli_practical.c); argv[0] names which. Its help
 * follows the session help. */
int cli_practical(srv_config *cfg, int argc, char **argv);
extern const char cli_practical_help[];

#endif
