/* kaochang: one binary, many subcommands (see cli/cli_main.c). */
#include "cli/cli.h"

#include <sodium.h>

int main(int argc, char **argv)
{
    /* Once, before any thread exists: the client library is not safe to init lazily. */
    if (kc_db_library_init()) {
        fprintf(stderr, "kaochang: could not initialise the MariaDB client library\n");
        return 1;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "kaochang: could not initialise libsodium\n");
        return 1;
    }
    int rc = cli_main(argc, argv);
    kc_db_library_end();
    return rc;
}
