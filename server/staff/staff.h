/* server/staff: what staff send (prefix staff_): sign-in, roles and staff tokens
 * (staff_auth.c), the bank's pages and the HTTP import (staff_bank.c), and 考务's templates
 * and session papers (staff_affairs.c). Worker handlers of the command table. */
#ifndef KAOCHANG_STAFF_H
#define KAOCHANG_STAFF_H

#include "../srv.h"

/* "author,reviewer" -> bits; 0, or -1 naming the unknown role in bad. */
int staff_roles_parse(const char *csv, unsigned *out, char *bad, size_t badlen);
void staff_roles_format(unsigned roles, char *out, size_t outlen);   /* "author,reviewer" */
/* The staff key is derived from the candidate token secret under its own label, so a
 * candidate token can never pass as a staff token or the other way round. */
void staff_key_derive(const unsigned char token_key[32], unsigned char staff_key[32]);
void staff_token_make(const unsigned char key[32], uint64_t staff_id, unsigned roles,
                          int64_t expires_ms, char *out, size_t outlen);
int staff_token_check(const unsigned char key[32], const char *tok, int64_t now_ms,
                          uint64_t *staff_id, unsigned *roles);
/* staff_login and staff_resume (worker side). */
int staff_login(kc_db *db, const srv_ctx *x, srv_job *j);
int staff_resume(kc_db *db, const srv_ctx *x, srv_job *j);
/* Before any other staff job: the account as it is now (a disabled account or a role taken
 * away stops working at once) must hold one of the roles in need. *allowed 0: the refusal
 * is in j's reply. */
int staff_authorize(kc_db *db, srv_job *j, unsigned need, int *allowed);
/* A staff job's reply: o (consumed) with the request id, or an error; 0 or KC_ENOMEM
 * (staff_bank.c, shared by staff_affairs.c). */
struct json_t;
int staff_job_reply(srv_job *j, struct json_t *o);
int staff_job_refuse(srv_job *j, const char *code, const char *field, const char *msg);
/* The bank's messages (staff_bank.c), and POST /api/bank/import. */
int staff_bank_catalog(kc_db *db, const srv_ctx *x, srv_job *j);
int staff_bank_list(kc_db *db, const srv_ctx *x, srv_job *j);
int staff_bank_item(kc_db *db, const srv_ctx *x, srv_job *j);
int staff_bank_review(kc_db *db, const srv_ctx *x, srv_job *j);
int staff_bank_save(kc_db *db, const srv_ctx *x, srv_job *j);
int staff_bank_health(kc_db *db, const srv_ctx *x, srv_job *j);
int staff_bank_import(kc_db *db, const srv_ctx *x, srv_job *j);
#define STAFF_BANK_IMPORT_ROLES (SRV_ROLE_AUTHOR | SRV_ROLE_ADMIN)
/* The exam-affairs messages (staff_affairs.c): templates, session prepare, verify and report. */
int staff_affairs_templates(kc_db *db, const srv_ctx *x, srv_job *j);
int staff_affairs_template(kc_db *db, const srv_ctx *x, srv_job *j);
int staff_affairs_check(kc_db *db, const srv_ctx *x, srv_job *j);
int staff_affairs_import(kc_db *db, const srv_ctx *x, srv_job *j);
int staff_affairs_sessions(kc_db *db, const srv_ctx *x, srv_job *j);
int staff_affairs_prepare(kc_db *db, const srv_ctx *x, srv_job *j);
int staff_affairs_verify(kc_db *db, const srv_ctx *x, srv_job *j);
int staff_affairs_report(kc_db *db, const srv_ctx *x, srv_job *j);
#endif
