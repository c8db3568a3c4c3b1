/* gw_control: the control socket of sekisho-gatewayd, both ends.
 *
 * Server (main thread): a Unix stream socket RUN_DIR/gatewayd.sock, mode
 * 0660, owned by the daemon's user and the control group; one request line
 * per connection ("status", "counters", "reload"), one JSON line back.  The
 * peer's credentials (SO_PEERCRED) are checked too: root, the daemon's user
 * or a member of the control group, whatever the file mode says.
 * Client: `sekisho-gatewayd ctl SOCKET COMMAND` prints the answer; exit 0,
 * 1 when the daemon refused or did not know the command, 2 when it could
 * not be asked.
 *
 * The server may allocate (the answer is built in memory) and logs
 * refusals (at 1, 2, 4, 8, ... so a local user cannot fill the log); a slow
 * client is cut off after 2 s. */
#pragma once

struct gw_daemon;

/* Bind and listen: the fd, or -errno. */
int gw_control_listen(struct gw_daemon *d);
/* Accept and answer one connection on the listening socket lfd. */
void gw_control_serve(struct gw_daemon *d, int lfd);
/* The `ctl` command: the exit status. */
int gw_control_client(const char *path, const char *cmd);
