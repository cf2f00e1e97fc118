//! Server processes for tests that stop completely: everything a server
//! starts (`git daemon` runs `git-daemon`, which forks one process per
//! connection; `moto_server` goes through launcher scripts) goes with it.
//!
//! Each server runs in a process group of its own. Dropping the
//! [`ServerProcess`] kills that group with SIGKILL and reaps the server, so a
//! test that passes, fails or panics leaves nothing behind. A watchdog in the
//! group also kills it when the test process dies without unwinding (a
//! signal, an abort): it waits for end-of-file on a pipe only the test
//! process writes to.

use std::io;
use std::process::{Child, Command, ExitStatus, Stdio};

use std::os::unix::process::CommandExt as _;

/// Run by `/bin/sh -c` with the server's command line as `"$@"`: keep the
/// pipe from the test process on fd 3 for a background watchdog that kills
/// the process group at end-of-file, then become the server (stdin from
/// `/dev/null`, the pipe closed), so the child's pid is the server's.
const WATCHDOG: &str = "exec 3<&0
(read -r _ <&3; kill -KILL 0) &
exec \"$@\" </dev/null 3<&-";

/// A server process group; killed as a whole on drop.
pub struct ServerProcess {
    child: Child,
}

impl ServerProcess {
    /// Start `cmd` (its program, arguments, environment changes and working
    /// directory; not `env_clear`, not its stdio) as the leader of a new
    /// process group, with stdin, stdout and stderr on `/dev/null`.
    pub fn spawn(cmd: &Command) -> io::Result<ServerProcess> {
        let mut sh = Command::new("/bin/sh");
        sh.arg("-c")
            .arg(WATCHDOG)
            .arg("sh")
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(v) => sh.env(key, v),
                None => sh.env_remove(key),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            sh.current_dir(dir);
        }
        let child = sh
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(ServerProcess { child })
    }

    /// The server's pid, which is also its process group id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server itself has exited (its group may not have yet).
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }
}

impl Drop for ServerProcess {
    /// Kill the whole group, then reap the server. The group id cannot have
    /// been reused meanwhile: the watchdog keeps the group alive until the
    /// pipe closes, which is when `child` drops, after this.
    fn drop(&mut self) {
        let group = rustix::process::Pid::from_child(&self.child);
        // An error here means the group is already gone.
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = self.child.wait();
    }
}
