/* server/media: media of items as they leave the server (prefix media_): signed links,
 * media:NAME rewriting, and GET /media/ bytes on a worker. */
#ifndef KAOCHANG_MEDIA_H
#define KAOCHANG_MEDIA_H

#include "../srv.h"

/* Rich text names media as src="media:NAME"; where items leave the server that becomes
 * /media/<sha256 hex>?e=<expiry ms>&s=<HMAC-SHA256 hex of "sha.expiry">. */
#define MEDIA_URL_MAX 176
#define MEDIA_STAFF_TTL_MS (12LL * 3600 * 1000)
#define MEDIA_AFTER_DEADLINE_MS (3600LL * 1000)
void media_key_derive(const unsigned char token_key[32], unsigned char media_key[32]);
int media_sha_ok(const char *s);          /* 64 lower-case hex digits */
void media_url(const unsigned char key[32], const char *sha, int64_t expires_ms, char *out,
                   size_t cap);
/* 0 when s signs (sha, e) and e is still ahead of now, else -1. Cheap: service thread. */
int media_check(const unsigned char key[32], const char *sha, const char *e, const char *s,
                    int64_t now_ms);
typedef struct media_ref { uint64_t item_id; char name[256], sha[65], mime[101]; } media_ref;
typedef struct media_map { media_ref *refs; int n, cap; } media_map;
/* The media of the items ids[0..n) (added to m, a statement per 64 ids), or of one item and
 * its sub-items (one query). */
int media_load_items(kc_db *db, const uint64_t *ids, size_t n, media_map *m);
int media_load_item(kc_db *db, uint64_t item_id, media_map *m);
void media_map_free(media_map *m);
/* html with each src/href "media:NAME" of item_id signed; unknown names stay. malloc'd,
 * NULL on OOM. */
char *media_rewrite(const char *html, uint64_t item_id, const media_map *m,
                        const unsigned char key[32], int64_t expires_ms);
/* [{name, sha256, mime, url}] of item_id (json_t *; jansson is included by the caller). */
struct json_t;
struct json_t *media_list(const media_map *m, uint64_t item_id, const unsigned char key[32],
                              int64_t expires_ms);
/* SRV_JOB_MEDIA on a worker: j->text/text_len/mime and http_status 200, or 404. */
int media_run(kc_db *db, const srv_ctx *x, srv_job *j);

#endif
