//! One sale from first interest to the last payment, in a real browser:
//! opportunity → quote in two versions → order on a departure → a partial
//! receipt → the balance → the customer's timeline and the month's
//! statement.

use crate::browser::{browser, click, start_driver, text_of, text_with};
use crate::harness::{browser_story, Api, Story, TestApp};
use anyhow::{ensure, Context, Result};
use fantoccini::{Client, Locator};
use reqwest::StatusCode;
use serde_json::{json, Value};

pub fn stories() -> Vec<Story> {
    vec![browser_story("a_sale_from_opportunity_to_the_last_payment_in_the_browser", one_sale)]
}

async fn created(api: &Api, path: &str, body: Value) -> Result<Value> {
    let (s, b) = api.post(path, &body).await?;
    ensure!(s == StatusCode::CREATED || s == StatusCode::OK, "{path}: {s} {b}");
    Ok(b)
}

/// Sets a form field's value (dates and prefilled inputs alike).
async fn set(c: &Client, css: &str, value: &str) -> Result<()> {
    let found: Value = c
        .execute(
            "const e = document.querySelector(arguments[0]); if (!e) { return false; } \
             e.value = arguments[1]; e.dispatchEvent(new Event('change', {bubbles: true})); return true;",
            vec![json!(css), json!(value)],
        )
        .await?;
    ensure!(found == json!(true), "no field {css}");
    Ok(())
}

/// The page's main text once `css` is there.
async fn page_text(c: &Client, css: &str) -> Result<String> {
    text_of(c, css).await?;
    text_of(c, "main").await
}

async fn one_sale(app: TestApp) -> Result<()> {
    let (_, pw) = app.create_user("chenjing", "admin", None).await?;
    let api = app.api_as("chenjing", &pw).await?;
    // What exists before the sale: the customer, the product and its departure.
    let customer = created(
        &api,
        "/api/v1/customers",
        json!({"kind": "individual", "name": "周游", "mobile": "13700001234", "confirm_duplicate": true}),
    )
    .await?;
    let cid = customer["id"].as_i64().context("customer id")?;
    let product = created(
        &api,
        "/api/v1/products",
        json!({"code": "SY5D", "name": "三亚五日游", "product_type": "long_haul", "days": 5,
               "adult_price": "3999.00", "child_price": "2999.00"}),
    )
    .await?;
    let today = store::customer_import::today_in_china();
    let out = today + chrono::Duration::days(30);
    let departure = created(
        &api,
        "/api/v1/departures",
        json!({"product_id": product["id"], "departure_date": out.to_string(), "capacity": 10, "status": "open"}),
    )
    .await?;
    let did = departure["id"].as_i64().context("departure id")?;

    let driver = start_driver().await?;
    let profile = app.db.scratch_dir().join("chromium-profile-sale");
    let c = browser(&driver, &profile).await?;
    let result = async {
        c.goto(&format!("{}/login", app.base)).await?;
        c.find(Locator::Css("input[name=username]")).await?.send_keys("chenjing").await?;
        c.find(Locator::Css("input[name=password]")).await?.send_keys(&pw).await?;
        c.find(Locator::Css("form[action='/login'] button[type=submit]")).await?.click().await?;
        text_of(&c, "main h1").await?;

        // 1. From the customer's page, an opportunity.
        c.goto(&format!("{}/customers/{cid}", app.base)).await?;
        click(&c, "#new-opportunity").await?;
        text_of(&c, "#opportunity-form").await?;
        set(&c, "#opportunity-form input[name=title]", "周游一家三亚游").await?;
        set(&c, "#opportunity-form input[name=adults]", "2").await?;
        set(&c, "#opportunity-form input[name=expected_value]", "8000.00").await?;
        click(&c, "#opportunity-form button[type=submit]").await?;
        ensure!(text_of(&c, "#opportunity-title").await? == "周游一家三亚游", "the opportunity page");
        let opportunity_url = c.current_url().await?;

        // 2. A quote for it, then a second version with a better price.
        click(&c, "#new-quote").await?;
        text_of(&c, "#quote-form").await?;
        set(&c, "#quote-form input[name=title]", "三亚五日游报价").await?;
        set(&c, "#quote-form input[name=valid_until]", &(today + chrono::Duration::days(14)).to_string()).await?;
        set(&c, "#quote-form input[name='line.0.description']", "三亚五日游 成人").await?;
        set(&c, "#quote-form input[name='line.0.adults']", "2").await?;
        set(&c, "#quote-form input[name='line.0.adult_price']", "3999.00").await?;
        click(&c, "#save-quote").await?;
        ensure!(text_of(&c, "#shown-version").await? == "1", "version 1");
        ensure!(text_of(&c, "#quote-total").await?.contains("7998.00"), "first total");
        let quote_url = c.current_url().await?;
        let qid: i64 = quote_url.path().trim_start_matches("/quotes/").parse().context("quote id in the url")?;
        click(&c, &format!("a[href='/quotes/{qid}/edit']")).await?;
        text_of(&c, "#quote-form").await?;
        set(&c, "#quote-form input[name='line.0.adult_price']", "3799.00").await?;
        click(&c, "#save-quote").await?;
        ensure!(text_of(&c, "#shown-version").await? == "2", "version 2");
        ensure!(text_of(&c, "#quote-total").await?.contains("7598.00"), "second total");
        // Both versions stay readable, and what changed is shown.
        c.goto(&format!("{}/quotes/{qid}/diff?from=1&to=2", app.base)).await?;
        let diff = page_text(&c, "main h1").await?;
        ensure!(diff.contains("3999.00") && diff.contains("3799.00"), "the difference names both prices");
        c.goto(quote_url.as_str()).await?;
        c.find(Locator::Css("#status-form select[name=status]")).await?.select_by_value("sent").await?;
        click(&c, "#status-form button[type=submit]").await?;
        let sent = text_with(&c, "#quote-status", "已发送").await?;
        let (_, q) = api.get(&format!("/api/v1/quotes/{qid}")).await?;
        ensure!(q["status"] == "sent" && q["current_version"] == 2, "{sent}: {q}");

        // 3. The order, from the quote, on the departure.
        c.goto(&format!("{}/orders/new?quote_id={qid}&departure_id={did}", app.base)).await?;
        text_of(&c, "form input[name=amount]").await?;
        click(&c, "main form button[type=submit]").await?;
        let amount = text_of(&c, "#order-amount").await?;
        ensure!(amount.contains("7598.00"), "the agreed price: {amount}");
        let order_no = text_of(&c, "main h1").await?.split_whitespace().next().unwrap_or_default().to_string();
        ensure!(order_no.starts_with('D'), "{order_no}");

        // 4. A deposit, then the balance.
        set(&c, "form[action='/finance/receipts'] input[name=amount]", "3000.00").await?;
        click(&c, "form[action='/finance/receipts'] button[type=submit]").await?;
        let balance = text_with(&c, "#order-balance", "4598.00").await?;
        ensure!(balance.contains("4598.00"), "after the deposit: {balance}");
        set(&c, "form[action='/finance/receipts'] input[name=amount]", "4598.00").await?;
        click(&c, "form[action='/finance/receipts'] button[type=submit]").await?;
        // Settled: received equals what was due (the page may still be the old one briefly).
        let mut balance = String::new();
        for _ in 0..100 {
            balance = text_of(&c, "#order-balance").await?;
            if balance.matches("7598.00").count() >= 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        ensure!(balance.matches("7598.00").count() >= 2 && balance.contains("0.00"), "settled: {balance}");

        // 5. The customer's timeline tells the story; the month's statement counts it.
        c.goto(&format!("{}/customers/{cid}", app.base)).await?;
        let page = page_text(&c, "#customer-name").await?;
        for needle in [order_no.as_str(), "三亚五日游报价", "周游一家三亚游", "3000.00", "4598.00"] {
            ensure!(page.contains(needle), "the timeline shows {needle}");
        }
        c.goto(&format!("{}/finance", app.base)).await?;
        let month = text_of(&c, "#statement-month").await?;
        ensure!(month.contains("7598.00"), "this month's receivables and receipts: {month}");
        c.goto(opportunity_url.as_str()).await?;
        text_of(&c, "#opportunity-stage").await?;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    let _ = c.close().await;
    result?;

    // What the pages did, as the API sees it.
    let (_, d) = api.get(&format!("/api/v1/departures/{did}")).await?;
    ensure!(d["booked"] == 2 || d["seats_left"] == 8, "two seats taken: {d}");
    let (_, o) = api.get("/api/v1/opportunities").await?;
    ensure!(o["items"][0]["stage"] == "won", "the opportunity is won: {o}");
    let (_, q) = api.get("/api/v1/quotes").await?;
    ensure!(q["items"][0]["status"] == "accepted", "the quote is accepted: {q}");
    let (_, b) = api.get(&format!("/api/v1/customers/{cid}/balance")).await?;
    ensure!(b.to_string().contains("7598.00"), "{b}");
    Ok(())
}
