//! The blocking API's local runtimes (`ory_iam::runtime::block_on_local`): threads that make a
//! call and exit, many of them (a thread per request, as Django's runserver does), neither panic
//! nor leave file descriptors behind. A test binary of its own: it counts the process's fds.

#[cfg(target_os = "linux")]
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

#[cfg(target_os = "linux")]
#[test]
fn short_lived_threads_leave_no_fds_behind() {
    use std::time::Duration;
    let call = || {
        ory_iam::runtime::block_on_local(async {
            // A timer, a socket and a task of the thread's runtime, all live when it exits.
            tokio::time::sleep(Duration::from_millis(1)).await;
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            tokio::spawn(async move {
                let _held = l.accept().await;
                std::future::pending::<()>().await
            });
            let c = tokio::net::TcpStream::connect(addr).await.unwrap();
            tokio::spawn(async move {
                let _c = c;
                std::future::pending::<()>().await
            });
        })
    };
    // Warm up what is built once per process (the shared runtime, allocator arenas).
    std::thread::spawn(call).join().unwrap();
    let before = open_fds();
    for _ in 0..10 {
        let threads: Vec<_> = (0..20).map(|_| std::thread::spawn(call)).collect();
        for t in threads {
            t.join().expect("a thread panicked making a call or exiting");
        }
    }
    let after = open_fds();
    assert!(after <= before + 2, "fds grew from {before} to {after} over 200 threads");
}
