//! Browser stories: headless Chromium (Debian's chromium + chromium-driver)
//! driven over WebDriver through the real pages.

use crate::harness::{browser_story, Story, TestApp};
use anyhow::{bail, ensure, Context, Result};
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub fn stories() -> Vec<Story> {
    vec![browser_story("login_through_the_real_page_then_switch_to_english", login_then_english)]
}

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromedriver() -> Option<String> {
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|s| s.to_string())
}

/// Whether headless Chromium can be driven here.
pub fn available() -> Result<(), String> {
    if !std::path::Path::new(CHROMIUM).exists() {
        return Err(format!("{CHROMIUM} not found (apt-get install chromium chromium-driver)"));
    }
    chromedriver().map(|_| ()).ok_or_else(|| "chromedriver not found (apt-get install chromium-driver)".into())
}

/// A running chromedriver.
pub struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver on a free port.
pub async fn start_driver() -> Result<Driver> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let child = Command::new(chromedriver().context("chromedriver")?)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let driver = Driver { child, port };
    // Readiness probe, bounded: the driver answers /status once it listens.
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("http://127.0.0.1:{port}/status")).send().await {
            if r.status().is_success() {
                return Ok(driver);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("chromedriver did not start")
}

/// A headless Chromium session with its own profile directory.
pub async fn browser(driver: &Driver, profile: &std::path::Path) -> Result<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1280,900", format!("--user-data-dir={}", profile.display())]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    Ok(ClientBuilder::new(connector).capabilities(caps).connect(&format!("http://127.0.0.1:{}", driver.port)).await?)
}

/// Whether a WebDriver error means the element belonged to a page that has
/// since been replaced. Chromium reports this either as a stale element
/// reference or, when the node went away between lookup and use, as an
/// unknown error from its inspector.
pub fn is_stale(e: &fantoccini::error::CmdError) -> bool {
    use fantoccini::error::{CmdError, ErrorStatus};
    match e {
        CmdError::Standard(w) => {
            w.error == ErrorStatus::StaleElementReference
                || (w.error == ErrorStatus::UnknownError
                    && (w.message.contains("does not belong to the document")
                        || w.message.contains("No node with given id")))
        }
        _ => false,
    }
}

/// The text of the first element matching `css`, waiting up to 10 s for it.
/// An element found just before the page it was on is replaced (a form that
/// was submitted) goes stale; it is looked up again on the new page.
pub async fn text_of(c: &Client, css: &str) -> Result<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let e = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(css)).await?;
        match e.text().await {
            Ok(t) => return Ok(t),
            Err(e) if is_stale(&e) && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Clicks the first element matching `css`, waiting up to 10 s for it and
/// looking it up again if the page was replaced between finding and clicking.
pub async fn click(c: &Client, css: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let e = c.wait().at_most(Duration::from_secs(10)).for_element(Locator::Css(css)).await?;
        match e.click().await {
            Ok(()) => return Ok(()),
            Err(e) if is_stale(&e) && std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(anyhow::Error::from(e).context(format!("clicking {css}"))),
        }
    }
}

/// The text of `css` once it contains `needle` (the page that a submitted
/// form leads to may still be loading), or the last text seen after 10 s.
pub async fn text_with(c: &Client, css: &str, needle: &str) -> Result<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let t = text_of(c, css).await?;
        if t.contains(needle) || std::time::Instant::now() >= deadline {
            return Ok(t);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits up to 10 s for the browser to be on a page whose path ends with `suffix`.
pub async fn wait_for_path(c: &Client, suffix: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let url = c.current_url().await?;
        if url.path().ends_with(suffix) {
            return Ok(());
        }
        ensure!(std::time::Instant::now() < deadline, "still at {url}, waiting for …{suffix}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn login_then_english(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("chenjing", "admin", None).await?;
    let driver = start_driver().await?;
    let profile = app.db.scratch_dir().join("chromium-profile");
    let c = browser(&driver, &profile).await?;
    let result = async {
        // Asking for the dashboard leads to the login page.
        c.goto(&format!("{}/", app.base)).await?;
        let url = c.current_url().await?;
        ensure!(url.path() == "/login", "redirected to the login page, at {url}");
        ensure!(text_of(&c, "h2").await? == "员工登录", "the login page is in Chinese");
        c.find(Locator::Css("input[name=username]")).await?.send_keys("chenjing").await?;
        c.find(Locator::Css("input[name=password]")).await?.send_keys(&pw).await?;
        c.find(Locator::Css("form[action='/login'] button[type=submit]")).await?.click().await?;
        let h1 = text_with(&c, "main h1", "工作台").await?;
        ensure!(h1 == "工作台", "the dashboard in Chinese, got {h1:?}");
        let nav = text_of(&c, "#nav").await.unwrap_or_default();
        let page = c.source().await?;
        ensure!(page.contains("员工账号") || nav.contains("员工账号"), "an admin's navigation");
        // Switch the interface language on the account page.
        c.goto(&format!("{}/account", app.base)).await?;
        let form = c
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("form[action='/account/locale']"))
            .await?;
        let select = form.find(Locator::Css("select")).await?;
        select.select_by_value("en").await?;
        form.find(Locator::Css("button[type=submit]")).await?.click().await?;
        // The account page comes back in English once the choice is saved.
        for _ in 0..100 {
            if c.source().await?.contains("lang=\"en\"") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        c.goto(&format!("{}/", app.base)).await?;
        let h1 = text_of(&c, "main h1").await?;
        ensure!(h1 == "Dashboard", "the dashboard in English, got {h1:?}");
        let html = c.source().await?;
        ensure!(html.contains("lang=\"en\""), "the page declares English");
        Ok(())
    }
    .await;
    let _ = c.close().await;
    result
}
