/* ol_net: the listening address of an HTTP server (the consumer's
 * --metrics-addr, the gateway's --listen), from "HOST:PORT" or
 * "[V6]:PORT" to a socket address. */
#ifndef OL_NET_H
#define OL_NET_H

#include <netdb.h>
#include <stddef.h>

/* Resolves addr for listening. flag names the option in errors. The
 * caller frees the result with freeaddrinfo; NULL with err set on error. */
struct addrinfo *ol_net_resolve_listen(const char *flag, const char *addr, char *err, size_t errlen);

#endif
