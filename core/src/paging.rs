//! One auto-pager for every list method: it follows Ory's page tokens (`Link: rel="next"`
//! headers or body tokens) and yields items one by one as a `Stream`.

use crate::dto::Page;
use crate::error::{Error, Result};
use crate::http::Call;
use futures::stream::Stream;
use http::HeaderMap;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::Mutex;

type Pending<T> = Pin<Box<dyn Future<Output = Option<Result<T>>> + Send>>;
type Fetch<T> = Arc<dyn Fn(Option<String>) -> Pin<Box<dyn Future<Output = Result<Page<T>>> + Send>> + Send + Sync>;

/// Yields items across pages. Also usable without `Stream` through [`Pager::next_item`], which
/// is what the bindings call.
pub struct Pager<T> {
    fetch: Fetch<T>,
    state: Arc<Mutex<PagerState<T>>>,
    // Only touched through `&mut self` (poll_next), so wrapping it keeps `Pager: Sync`.
    pending: sync_wrapper::SyncWrapper<Option<Pending<T>>>,
}

struct PagerState<T> {
    buf: VecDeque<T>,
    next: Option<String>,
    started: bool,
    done: bool,
}

impl<T: Send + 'static> Pager<T> {
    pub fn new<F, Fut>(f: F) -> Self
    where
        F: Fn(Option<String>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Page<T>>> + Send + 'static,
    {
        Pager {
            fetch: Arc::new(move |t| Box::pin(f(t))),
            state: Arc::new(Mutex::new(PagerState { buf: VecDeque::new(), next: None, started: false, done: false })),
            pending: sync_wrapper::SyncWrapper::new(None),
        }
    }

    /// The next item, fetching the next page when the current one is used up. `None` at the end.
    /// An error ends the iteration.
    pub async fn next_item(&self) -> Option<Result<T>> {
        Self::advance(self.fetch.clone(), self.state.clone()).await
    }

    /// The next item when it is known without I/O: `Some(Some(item))` when one is buffered,
    /// `Some(None)` when the walk has ended, `None` when the next page must be fetched (or
    /// another caller is fetching it). Lets the bindings hand out buffered items without a
    /// round trip through the runtime; `next_item` gives the same sequence.
    pub fn next_ready(&self) -> Option<Option<Result<T>>> {
        let mut s = self.state.try_lock().ok()?;
        if let Some(item) = s.buf.pop_front() {
            return Some(Some(Ok(item)));
        }
        if s.done || (s.started && s.next.is_none()) {
            return Some(None);
        }
        None
    }

    async fn advance(fetch: Fetch<T>, state: Arc<Mutex<PagerState<T>>>) -> Option<Result<T>> {
        let mut s = state.lock().await;
        loop {
            if let Some(item) = s.buf.pop_front() {
                return Some(Ok(item));
            }
            if s.done || (s.started && s.next.is_none()) {
                return None;
            }
            s.started = true;
            let asked = s.next.take();
            match fetch(asked.clone()).await {
                Ok(page) => {
                    // An empty page ends the walk even when it links a next one (Kratos v1.3.1
                    // links `rel="next"` from every offset-paged session list, empty pages
                    // included), and so does a token pointing back at the page just read.
                    s.next = page.next_page_token.filter(|t| !t.is_empty() && Some(t) != asked.as_ref());
                    if page.items.is_empty() {
                        s.done = true;
                        return None;
                    }
                    s.buf.extend(page.items);
                }
                Err(e) => {
                    s.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl<T: Send + 'static> Stream for Pager<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let pending = this.pending.get_mut();
        if pending.is_none() {
            *pending = Some(Box::pin(Self::advance(this.fetch.clone(), this.state.clone())));
        }
        let out = pending.as_mut().expect("pending").as_mut().poll(cx);
        if out.is_ready() {
            *pending = None;
        }
        out
    }
}

impl<T: Send + 'static> Unpin for Pager<T> {}

/// `page_size` (checked: 1 to `max`, the server's own limit, else `IamValidationError` naming
/// `page_size`, without a request) and `page_token` on a list call.
pub(crate) fn page_query<'a>(
    mut call: Call<'a>,
    page_size: Option<u32>,
    page_token: Option<String>,
    max: u32,
) -> Result<Call<'a>> {
    if let Some(n) = page_size {
        if n == 0 || n > max {
            return Err(Error::invalid_field("page_size", format!("must be between 1 and {max}")));
        }
        call = call.query("page_size", n.to_string());
    }
    if let Some(t) = page_token {
        call = call.query("page_token", t);
    }
    Ok(call)
}

/// `list_all` of a service handle: `list(handle, token)` fetches the page after `token`
/// (`None`: the first), and the [`Pager`] walks them.
pub(crate) fn pages<S, T, F, Fut>(svc: S, list: F) -> Pager<T>
where
    S: Clone + Send + Sync + 'static,
    T: Send + 'static,
    F: Fn(S, Option<String>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T>>> + Send + 'static,
{
    Pager::new(move |token| list(svc.clone(), token))
}

/// The `page_token` of the `rel="next"` link, if any.
pub(crate) fn next_token_from_link(h: &HeaderMap) -> Option<String> {
    for v in h.get_all(http::header::LINK) {
        let Ok(s) = v.to_str() else { continue };
        for part in s.split(',') {
            let part = part.trim();
            if !part.contains("rel=\"next\"") {
                continue;
            }
            let start = part.find('<')? + 1;
            let end = part.find('>')?;
            let url = url::Url::parse(&part[start..end])
                .or_else(|_| url::Url::parse("http://x").and_then(|b| b.join(&part[start..end])))
                .ok()?;
            return url.query_pairs().find(|(k, _)| k == "page_token").map(|(_, v)| v.into_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn reads_next_link() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::LINK,
            "</admin/identities?page_size=2&page_token=abc>; rel=\"first\",</admin/identities?page_size=2&page_token=x%3Dy>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_token_from_link(&h).as_deref(), Some("x=y"));
        h.clear();
        assert_eq!(next_token_from_link(&h), None);
    }

    #[tokio::test]
    async fn pages_until_no_token() {
        let p = Pager::new(|t: Option<String>| async move {
            let n: u32 = t.map(|t| t.parse().unwrap()).unwrap_or(0);
            Ok(Page {
                items: vec![n * 2, n * 2 + 1],
                next_page_token: if n < 2 { Some((n + 1).to_string()) } else { None },
            })
        });
        let all: Vec<u32> = p.map(|r| r.unwrap()).collect().await;
        assert_eq!(all, vec![0, 1, 2, 3, 4, 5]);
    }

    #[tokio::test]
    async fn an_empty_page_or_a_repeated_token_ends_the_walk() {
        // Always links a next page, like Kratos's offset-paged session lists.
        let p = Pager::new(|t: Option<String>| async move {
            let n: u32 = t.map(|t| t.parse().unwrap()).unwrap_or(0);
            Ok(Page { items: if n < 2 { vec![n] } else { vec![] }, next_page_token: Some((n + 1).to_string()) })
        });
        let all: Vec<u32> = p.map(|r| r.unwrap()).collect().await;
        assert_eq!(all, vec![0, 1]);
        let p = Pager::new(|_t: Option<String>| async move {
            Ok(Page { items: vec![7u32], next_page_token: Some("same".into()) })
        });
        let all: Vec<u32> = p.map(|r| r.unwrap()).collect().await;
        assert_eq!(all, vec![7, 7], "the first page, then the page its token names, then stop");
    }

    #[tokio::test]
    async fn next_ready_hands_out_buffered_items_and_the_end_without_io() {
        let fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let f = fetches.clone();
        let p = Pager::new(move |t: Option<String>| {
            f.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                let n: u32 = t.map(|t| t.parse().unwrap()).unwrap_or(0);
                Ok(Page {
                    items: vec![n * 2, n * 2 + 1],
                    next_page_token: if n < 1 { Some((n + 1).to_string()) } else { None },
                })
            }
        });
        assert!(p.next_ready().is_none(), "nothing fetched yet: I/O needed");
        assert_eq!(p.next_item().await.unwrap().unwrap(), 0);
        assert_eq!(p.next_ready().unwrap().unwrap().unwrap(), 1, "buffered");
        assert!(p.next_ready().is_none(), "page used up, a next page is linked");
        assert_eq!(p.next_item().await.unwrap().unwrap(), 2);
        assert_eq!(p.next_ready().unwrap().unwrap().unwrap(), 3);
        assert!(p.next_item().await.is_none());
        assert!(matches!(p.next_ready(), Some(None)), "the end is known without I/O");
        assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
