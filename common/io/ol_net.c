#include "ol_net.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "ol_str.h"

/* Splits "HOST:PORT" or "[V6]:PORT". */
static bool split_addr(const char *addr, char *host, size_t hostlen, char *port, size_t portlen) {
    const char *colon;
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (!end || end[1] != ':') return false;
        snprintf(host, hostlen, "%.*s", (int)(end - addr - 1), addr + 1);
        colon = end + 1;
    } else {
        colon = strrchr(addr, ':');
        if (!colon) return false;
        snprintf(host, hostlen, "%.*s", (int)(colon - addr), addr);
    }
    snprintf(port, portlen, "%s", colon + 1);
    return *port != '\0';
}

struct addrinfo *ol_net_resolve_listen(const char *flag, const char *addr, char *err, size_t errlen) {
    char host[256], port[16];
    if (!split_addr(addr, host, sizeof host, port, sizeof port)) {
        ol_seterr(err, errlen, "%s: expected HOST:PORT, got '%.64s'", flag, addr);
        return NULL;
    }
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
    if (gai != 0) {
        ol_seterr(err, errlen, "%s %s: %s", flag, addr, gai_strerror(gai));
        return NULL;
    }
    return ai;
}
