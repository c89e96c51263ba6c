/* kaochang: one binary, many subcommands (see srv_cli.c). */
#include "srv.h"

#include <mysql.h>
#include <sodium.h>

int main(int argc, char **argv)
{
    /* Once, before any thread exists: the client library is not safe to init lazily. */
    if (mysql_library_init(0, NULL, NULL)) {
        fprintf(stderr, "kaochang: could not initialise the MariaDB client library\n");
        return 1;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "kaochang: could not initialise libsodium\n");
        return 1;
    }
    int rc = srv_cli_main(argc, argv);
    mysql_library_end();
    return rc;
}
