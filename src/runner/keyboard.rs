//! Locust's keyboard controls: on a terminal, `w`/`W` add 1/10 users and `s`/`S` remove 1/10, at 100 users/s.
//!
//! Locust (2.47, `input_events.py`) puts stdin in cbreak mode (no echo, no line editing; Ctrl+C still sends
//! SIGINT), polls it from a greenlet every 0.2 s, and for each key calls `runner.start(user_count ± n, 100)`
//! unless the runner is spawning, when it logs a warning on the root logger instead. The terminal's settings are
//! restored when the run ends.
//!
//! Here a thread blocks in `poll(2)` on stdin, so a key acts at once and never waits for the Python thread, and
//! the keys become [`Control::Start`] messages like every other command. The saved settings are restored by
//! [`restore`], which the normal exit and the watchdog's abandon path both call (an `_exit` runs no destructors).
//!
//! Enter (`\n` or `\r`) opens the web UI in the default browser, as Locust's prompt promises: Locust calls
//! `webbrowser.open_new_tab(url)` from its input greenlet, so the key becomes a `Web` command that the hub carries
//! out with Python's `webbrowser` (a locustfile may patch it; an exception it raises ends the process as it ends
//! Locust's). Nothing happens without a web UI.
//!
//! NOTE (departure): Locust changes the terminal even when it runs as a background job, where that stops the
//! process (SIGTTOU); here a terminal that belongs to another (foreground) process group is left alone.
use super::{Control, Shared, State};
use crate::bridge::{Bridge, Command};
use crate::log::{self, Level};
use crate::sys::{self, StdinReady};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

/// Where Enter sends the browser: the web UI's URL as Locust logs it, and the hub that opens it.
pub struct Browser {
    pub url: String,
    pub bridge: Arc<Bridge>,
}

impl Browser {
    /// Ask the hub to open the URL (Python's `webbrowser.open_new_tab`); the acknowledgement is not awaited.
    fn open(&self) {
        let payload = serde_json::Value::String(self.url.clone()).to_string();
        drop(self.bridge.command(Command::Web {
            action: "open_browser".into(),
            payload,
        }));
    }
}

/// The terminal settings to put back, while ours are in effect.
static SAVED: Mutex<Option<sys::SavedTerminal>> = Mutex::new(None);

const POLL: Duration = Duration::from_millis(200);

/// What a key does: the change in users and the warning shown while the runner is spawning.
fn action(key: u8) -> Option<(i64, &'static str)> {
    const MORE: &str = "Already spawning users, can't spawn more right now";
    const LESS: &str = "Spawning users, can't stop right now";
    Some(match key {
        b'w' => (1, MORE),
        b'W' => (10, MORE),
        b's' => (-1, LESS),
        b'S' => (-10, LESS),
        _ => return None,
    })
}

/// Act on one key, as Locust's input listener does.
pub fn press(shared: &Shared, key: u8) {
    let Some((delta, busy)) = action(key) else {
        return;
    };
    if shared.state() == State::Spawning {
        log::warning("root", busy);
        return;
    }
    let users = (shared.user_count() as i64 + delta).max(0) as u64;
    shared.send(Control::Start {
        users,
        spawn_rate: 100.0,
        classes: None,
    });
}

/// Put stdin in cbreak mode and start reading keys; logs (DEBUG) why not when stdin is no terminal. `browser`:
/// what Enter opens (None without a web UI).
pub fn start(shared: Arc<Shared>, browser: Option<Browser>) {
    if let Some(why) = sys::stdin_keys_unusable() {
        log::log(Level::Debug, "root", why);
        return;
    }
    let (saved, set) = sys::stdin_cbreak();
    *SAVED.lock() = saved;
    if let Err(e) = set {
        restore();
        log::warning("root", &format!("Exception in keyboard input poller: {e}"));
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("keyboard".into())
        .spawn(move || {
            if let Err(e) = read_keys(&shared, browser.as_ref()) {
                log::warning("root", &format!("Exception in keyboard input poller: {e}"));
            }
            restore();
        });
    if spawned.is_err() {
        restore();
    }
}

/// Read keys until stdin ends or the run is quitting.
fn read_keys(shared: &Shared, browser: Option<&Browser>) -> std::io::Result<()> {
    while !shared.is_quitting() {
        match sys::poll_stdin(POLL)? {
            StdinReady::Nothing => continue,
            StdinReady::Gone => return Ok(()), // the terminal went away
            StdinReady::Readable => {}
        }
        match sys::read_stdin_byte() {
            Ok(Some(byte)) if byte == b'\n' || byte == b'\r' => {
                if let Some(b) = browser {
                    b.open();
                }
            }
            Ok(Some(byte)) => press(shared, byte),
            Ok(None) => return Ok(()),
            Err(e) => {
                if e.kind() != std::io::ErrorKind::Interrupted
                    && e.kind() != std::io::ErrorKind::WouldBlock
                {
                    return Err(e);
                }
            }
        }
    }
    Ok(())
}

/// Put the terminal's settings back (nothing when they were never changed, or already restored).
pub fn restore() {
    if let Some(saved) = SAVED.lock().take() {
        sys::restore_terminal(saved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Control>) -> Vec<u64> {
        let mut out = Vec::new();
        while let Ok(c) = rx.try_recv() {
            if let Control::Start {
                users,
                spawn_rate,
                classes,
            } = c
            {
                assert_eq!(spawn_rate, 100.0);
                assert!(classes.is_none());
                out.push(users);
            }
        }
        out
    }

    #[test]
    fn keys_ramp_from_the_users_alive_and_never_below_zero() {
        let (shared, mut rx) = Shared::new(0.0);
        for _ in 0..3 {
            shared.user_started("U");
        }
        shared.set_state(State::Running);
        for k in [b'w', b'W', b's', b'S', b'x', b'\n'] {
            press(&shared, k);
        }
        assert_eq!(drain(&mut rx), [4, 13, 2, 0]);
    }

    #[test]
    fn keys_while_spawning_only_warn() {
        let (shared, mut rx) = Shared::new(0.0);
        shared.set_state(State::Spawning);
        for k in [b'w', b'W', b's', b'S'] {
            press(&shared, k);
        }
        assert!(drain(&mut rx).is_empty());
        // a stopped test starts again, as Locust's runner.start() does
        shared.set_state(State::Stopped);
        press(&shared, b'w');
        assert_eq!(drain(&mut rx), [1]);
    }
}
