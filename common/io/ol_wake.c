#include "ol_wake.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "ol_str.h"

bool ol_wake_open(int fds[2], const char *what, char *err, size_t errlen) {
    if (pipe(fds) != 0) {
        fds[0] = fds[1] = -1;
        ol_seterr(err, errlen, "creating %s: %s", what, strerror(errno));
        return false;
    }
    for (int i = 0; i < 2; i++) {
        int flags = fcntl(fds[i], F_GETFL);
        if (flags < 0 || fcntl(fds[i], F_SETFL, flags | O_NONBLOCK) != 0) {
            ol_seterr(err, errlen, "creating %s: %s", what, strerror(errno));
            ol_wake_close(fds);
            return false;
        }
    }
    return true;
}

void ol_wake_wait(const int fds[2], int timeout_ms) {
    if (timeout_ms > 0) {
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR) ol_sleep_ms(1);
    }
    char drain[64];
    while (read(fds[0], drain, sizeof drain) > 0) {
    }
}

void ol_wake_signal(const int fds[2]) {
    ssize_t w = write(fds[1], "w", 1);
    (void)w;
}

void ol_wake_close(int fds[2]) {
    for (int i = 0; i < 2; i++) {
        if (fds[i] >= 0) close(fds[i]);
        fds[i] = -1;
    }
}
