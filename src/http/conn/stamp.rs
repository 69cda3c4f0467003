//! When a response really arrived: the kernel's receive timestamps on plain TCP connections.
//!
//! A response's bytes can sit in the socket while the I/O thread is busy with other users' work. Timing the
//! response by the moment the read returned would count that wait as server latency, and the wait grows exactly
//! when the generator is loaded. With `SO_TIMESTAMPING` (`SOF_TIMESTAMPING_RX_SOFTWARE`), Linux stamps every
//! received packet as it enters the network stack, and `recvmsg` reports the stamp of the last packet it read.
//! [`read`] returns, with the bytes, how long before the read that packet had arrived (the *lag*); the exchange
//! takes the lag of its last read off the response time (docs/observability.md, "What response time means").
//!
//! The stamp is wall-clock time (`CLOCK_REALTIME`), so the lag is computed right after `recvmsg` against the same
//! clock and is used only when it is plausible (not negative, under [`MAX_LAG`]): a clock step between the
//! packet and the read cannot distort a response time by more than the lag it removes.
//!
//! HTTP/2 over plain TCP reads through [`poll_read`] (the connection's task, `frames`): its frames carry the stamps,
//! which its streams' metrics use. Fallback: TLS connections, HTTP/2's request rows, other systems, and sockets that
//! refuse the option have no stamp, and their response ends when the read returns (as before, and as under Locust, whose timer also includes its own
//! scheduling). Cost: one `recvmsg` instead of one `read`, a `clock_gettime` (vDSO) per read.
use bytes::{BufMut, BytesMut};
use std::io;
use std::time::Duration;
use tokio::net::TcpStream;

/// Lags beyond this are taken for clock steps, not waits, and ignored.
pub const MAX_LAG: Duration = Duration::from_secs(10);

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod sys {
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    /// `SO_TIMESTAMPING` (`SO_TIMESTAMPING_OLD` of asm-generic/socket.h: x86_64 and aarch64); also the
    /// control-message type `SCM_TIMESTAMPING`. Not in the libc crate for these targets.
    const SO_TIMESTAMPING: libc::c_int = 37;

    pub fn enable(tcp: &tokio::net::TcpStream) {
        let flags: libc::c_uint =
            libc::SOF_TIMESTAMPING_RX_SOFTWARE | libc::SOF_TIMESTAMPING_SOFTWARE;
        // SAFETY: setsockopt on an open socket fd with a pointer to a c_uint we own and its size.
        unsafe {
            libc::setsockopt(
                tcp.as_raw_fd(),
                libc::SOL_SOCKET,
                SO_TIMESTAMPING,
                (&flags as *const libc::c_uint).cast(),
                std::mem::size_of::<libc::c_uint>() as libc::socklen_t,
            );
        }
    }

    /// One non-blocking `recvmsg` into `buf[..]`: the byte count and the lag of the last packet read.
    pub fn recv(fd: libc::c_int, buf: &mut [u8]) -> std::io::Result<(usize, Option<Duration>)> {
        // room for one SCM_TIMESTAMPING message (three timespecs) and its header, aligned for cmsghdr
        let mut control = [0u64; 16];
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: zeroed msghdr is a valid empty header; the pointers set below outlive the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: recvmsg on an open socket with a msghdr whose buffers we own.
        let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut lag = None;
        if n > 0 {
            // SAFETY: walking the control messages the kernel wrote into `control`, with libc's CMSG macros.
            unsafe {
                let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
                while !cmsg.is_null() {
                    if (*cmsg).cmsg_level == libc::SOL_SOCKET
                        && (*cmsg).cmsg_type == SO_TIMESTAMPING
                    {
                        let ts = std::ptr::read_unaligned(
                            libc::CMSG_DATA(cmsg).cast::<libc::timespec>(),
                        );
                        lag = since(ts);
                    }
                    cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
                }
            }
        }
        Ok((n as usize, lag))
    }

    /// How long ago (wall clock) `stamp` was, when plausible.
    fn since(stamp: libc::timespec) -> Option<Duration> {
        if stamp.tv_sec == 0 && stamp.tv_nsec == 0 {
            return None;
        }
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes into a timespec we own.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut now) };
        let ns = (now.tv_sec as i128 - stamp.tv_sec as i128) * 1_000_000_000
            + (now.tv_nsec as i128 - stamp.tv_nsec as i128);
        (0..super::MAX_LAG.as_nanos() as i128)
            .contains(&ns)
            .then(|| Duration::from_nanos(ns as u64))
    }

    pub fn fd(tcp: &tokio::net::TcpStream) -> libc::c_int {
        tcp.as_raw_fd()
    }
}

/// Ask the kernel to stamp what arrives on `tcp` (nothing happens where it cannot).
pub fn enable(tcp: &TcpStream) {
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    sys::enable(tcp);
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    let _ = tcp;
}

/// Read what `tcp` has into `buf`'s spare room, made at least `room` bytes once the socket is readable (not
/// before: a request waiting for its response holds no buffer; `room` 0 needs room already there): the byte count
/// (0 at the end of the stream) and how long the last byte read had waited in the socket, when the kernel said.
pub async fn read(
    tcp: &TcpStream,
    buf: &mut BytesMut,
    room: usize,
) -> io::Result<(usize, Option<Duration>)> {
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    {
        loop {
            tcp.readable().await?;
            buf.reserve(room);
            let spare = buf.chunk_mut();
            // SAFETY: the kernel writes at most `len` bytes into the spare room; only those are marked initialized
            // (advance_mut below), so no uninitialized byte is ever read.
            let room = unsafe { std::slice::from_raw_parts_mut(spare.as_mut_ptr(), spare.len()) };
            let len = room.len();
            // A read that filled less than the room drained the socket: tokio's own reads then forget the
            // readiness, so the next read waits for the next event instead of trying (and failing) first. `try_io`
            // forgets it only when told WouldBlock, so a short read is handed out through `short` and reported as
            // WouldBlock (tokio keeps the readiness if an event came meanwhile). Without this, every response cost
            // one more failing recvmsg and the throughput scenario lost a fifth of its rate.
            let mut short = None;
            match tcp.try_io(tokio::io::Interest::READABLE, || {
                let (n, lag) = sys::recv(sys::fd(tcp), room)?;
                if n > 0 && n < len {
                    short = Some((n, lag));
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok((n, lag))
            }) {
                Ok((n, lag)) => {
                    // SAFETY: recvmsg initialized the first `n` bytes of the spare room.
                    unsafe { buf.advance_mut(n) };
                    return Ok((n, lag));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if let Some((n, lag)) = short {
                        // SAFETY: as above, recvmsg initialized the first `n` bytes.
                        unsafe { buf.advance_mut(n) };
                        return Ok((n, lag));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    {
        use tokio::io::AsyncReadExt;
        let mut tcp = tcp;
        buf.reserve(room);
        Ok((tcp.read_buf(buf).await?, None))
    }
}

/// [`read`] for a reader driven by polls (the HTTP/2 connection's task, `frames`): fills `buf` with what `tcp`
/// has; the socket wait of the last byte read, when the kernel said.
pub fn poll_read(
    tcp: &mut TcpStream,
    cx: &mut std::task::Context<'_>,
    buf: &mut tokio::io::ReadBuf<'_>,
) -> std::task::Poll<io::Result<Option<Duration>>> {
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    {
        loop {
            std::task::ready!(tcp.poll_read_ready(cx))?;
            // SAFETY: the kernel writes at most `len` bytes into the unfilled room; only those are marked
            // initialized (assume_init below), so no uninitialized byte is ever read.
            let spare = unsafe { buf.unfilled_mut() };
            let len = spare.len();
            // SAFETY: the same room seen as bytes for recvmsg to write into; nothing reads it before it is written.
            let room =
                unsafe { std::slice::from_raw_parts_mut(spare.as_mut_ptr().cast::<u8>(), len) };
            match tcp.try_io(tokio::io::Interest::READABLE, || {
                sys::recv(sys::fd(tcp), room)
            }) {
                Ok((n, lag)) => {
                    // SAFETY: recvmsg initialized the first `n` bytes of the unfilled room.
                    unsafe { buf.assume_init(n) };
                    buf.advance(n);
                    return std::task::Poll::Ready(Ok(lag));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return std::task::Poll::Ready(Err(e)),
            }
        }
    }
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    {
        use tokio::io::AsyncRead;
        std::task::ready!(std::pin::Pin::new(tcp).poll_read(cx, buf))?;
        std::task::Poll::Ready(Ok(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// Bytes that sat in the socket while nobody read are timed by their arrival: the lag covers the wait.
    #[tokio::test]
    async fn the_lag_covers_the_time_bytes_waited_in_the_socket() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        enable(&client);
        let (mut server, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::with_capacity(64);
        // Linux turns packet stamping on asynchronously when the first socket asks for it: the first packets
        // after that may come unstamped (they are timed by the read, as everywhere without stamps)
        for _ in 0..50 {
            server.write_all(b"warm").await.unwrap();
            buf.clear();
            if read(&client, &mut buf, 0).await.unwrap().1.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        server.write_all(b"hello").await.unwrap();
        std::thread::sleep(Duration::from_millis(120));
        buf.clear();
        let (n, lag) = read(&client, &mut buf, 0).await.unwrap();
        assert_eq!(&buf[..n], b"hello");
        let lag = lag.expect("Linux stamps loopback packets");
        assert!(
            lag >= Duration::from_millis(110) && lag < Duration::from_secs(2),
            "{lag:?}"
        );
        // read at once: almost no lag
        server.write_all(b"again").await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        buf.clear();
        let (n, lag) = read(&client, &mut buf, 0).await.unwrap();
        assert_eq!(&buf[..n], b"again");
        assert!(lag.unwrap() < Duration::from_millis(100));
        // the end of the stream
        drop(server);
        buf.clear();
        assert_eq!(read(&client, &mut buf, 0).await.unwrap().0, 0);
    }

    /// A short read forgets the socket's readiness (as tokio's own reads do): the next read still gets the bytes
    /// that come later, whole reads keep their data, and a read that fills the room leaves the rest for the next.
    #[tokio::test]
    async fn reads_after_a_short_read_wait_for_the_next_bytes() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        enable(&client);
        let (mut server, _) = listener.accept().await.unwrap();
        let mut buf = BytesMut::with_capacity(64);
        for round in 0..20u8 {
            let sent = [b'a' + round; 5];
            let writer = async {
                tokio::time::sleep(Duration::from_millis(2)).await;
                server.write_all(&sent).await.unwrap();
            };
            buf.clear();
            let (read, ()) = tokio::join!(
                tokio::time::timeout(Duration::from_secs(5), read(&client, &mut buf, 0)),
                writer
            );
            let (n, _) = read
                .expect("the bytes written after a short read arrive")
                .unwrap();
            assert_eq!(&buf[..n], &sent, "round {round}");
        }
        // more than the room: the first read fills it, the second gets the rest
        server.write_all(&[b'x'; 100]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let mut small = BytesMut::with_capacity(64);
        let room = small.capacity();
        let (n, _) = read(&client, &mut small, 0).await.unwrap();
        assert_eq!(n, room);
        let mut rest = BytesMut::with_capacity(256);
        let (m, _) = tokio::time::timeout(Duration::from_secs(5), read(&client, &mut rest, 0))
            .await
            .expect("the rest is read at once")
            .unwrap();
        assert_eq!(n + m, 100);
    }
}
