//! Moving customer lists in and out: the import pages (upload → mapping →
//! dry run → import → error report) and API, the export of the filtered
//! list (CSV, XLSX), and vCards of customers and contact persons.
//!
//! The rules live in `store::customer_import` and `store::customer_export`;
//! this module adds who may do it, what they may touch, and the pages.
//!
//! Uploads are `multipart/form-data`, which the CSRF check cannot read
//! without buffering the whole file, so the upload form carries its token
//! in its action URL (`?csrf=`), which `ctx` accepts for multipart bodies
//! only. Upload routes allow bodies up to [`UPLOAD_LIMIT`].

mod api;
mod export;
mod pages;
mod staging;
mod vcard;

use crate::ctx::Req;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::AppState;
use axum::extract::DefaultBodyLimit;
use domain::access::Permission;
use domain::FieldError;
use store::customer_import::{self as ci, ImportError, ImportOptions, Report, Sheet};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest file accepted for import.
pub(crate) const UPLOAD_LIMIT: usize = 50 * 1024 * 1024;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    let uploads = OpenApiRouter::new()
        .routes(routes!(pages::upload_submit))
        .routes(routes!(api::import))
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT));
    OpenApiRouter::new()
        .routes(routes!(pages::upload_page))
        .routes(routes!(pages::mapping_page))
        .routes(routes!(pages::check_page, pages::check_submit))
        .routes(routes!(pages::run_submit))
        .routes(routes!(pages::result_page))
        .routes(routes!(pages::errors_csv))
        .routes(routes!(export::page_export))
        .routes(routes!(export::api_export))
        .routes(routes!(vcard::customer_vcard))
        .routes(routes!(vcard::contact_vcard))
        .merge(uploads)
}

/// The options every web import starts from: the caller's `customers.write`
/// reach, and new customers owned by `owner` (a username) or the caller.
async fn import_options(state: &AppState, req: &Req, owner: Option<&str>) -> Result<ImportOptions, AppError> {
    let me = req.user()?;
    let vis = req.visibility(state, Permission::CustomersWrite).await?;
    let mut opts = ImportOptions::everything(ci::today_in_china());
    opts.vis = vis;
    opts.default_owner = Some(me.user.id);
    if let Some(name) = owner.map(str::trim).filter(|s| !s.is_empty()) {
        match store::users::for_login(&state.store, name).await?.map(|(u, _)| u) {
            Some(u) if u.active => opts.default_owner = Some(u.id),
            _ => return Err(AppError::field("owner", "not_found", format!("owner: no active staff account {name:?}"))),
        }
    }
    Ok(opts)
}

/// Runs an import (or dry run) as the caller.
async fn run_import(state: &AppState, req: &Req, sheet: &Sheet, opts: &ImportOptions) -> Result<Report, AppError> {
    let actor = req.actor()?;
    let mut ignore = |_: ci::Progress| {};
    ci::import(&state.store, &actor, sheet, opts, &mut ignore).await.map_err(|e| file_error(e, req.lang))
}

/// An unreadable file or mapping is 422 on `file`; a database failure stays 500.
fn file_error(e: ImportError, _lang: Lang) -> AppError {
    match e {
        ImportError::Unreadable(m) => AppError::Invalid(FieldError::new("file", "unreadable", m).into()),
        ImportError::Store(s) => s.into(),
    }
}

/// A row problem in the reader's language where a translation exists (the
/// domain's English message is more specific, so English keeps it).
fn reason(lang: Lang, code: &str, message: &str) -> String {
    if lang == Lang::Zh {
        let key = format!("import.reason.{code}");
        if let Some((_, zh, _)) = TEXTS.iter().find(|(k, _, _)| *k == key) {
            return format!("{zh}（{message}）");
        }
    }
    message.to_string()
}

/// Interface texts of this area: (key, 中文, English), sorted by key.
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[
    ("export.csv", "导出 CSV", "Export CSV"),
    ("export.csv_gbk", "导出 CSV（GBK，旧版 Excel）", "Export CSV (GBK, old Excel)"),
    ("export.vcard", "名片 (vCard)", "vCard"),
    ("export.vcard_code", "客户编号", "Customer code"),
    ("export.xlsx", "导出 Excel", "Export Excel"),
    ("import.back_to_mapping", "返回修改列对应", "Back to the column mapping"),
    ("import.check", "试导入（不写入）", "Dry run (writes nothing)"),
    ("import.check_title", "试导入结果", "Dry run result"),
    ("import.choose_file", "选择文件（CSV 或 Excel，最大 50 MB）", "Choose a file (CSV or Excel, up to 50 MB)"),
    ("import.cli_hint", "大文件也可以在服务器上用命令行导入：", "Large files can also be imported on the server:"),
    ("import.column", "文件中的列", "Column in the file"),
    ("import.created", "新建", "Created"),
    ("import.download_errors", "下载错误报告（CSV）", "Download the error report (CSV)"),
    ("import.dry_run_note", "这是试导入：没有写入任何数据。", "This was a dry run: nothing was written."),
    ("import.encoding", "编码", "Encoding"),
    ("import.errors", "有问题的行", "Rows with problems"),
    ("import.errors_more", "只显示前 200 行，完整列表请下载错误报告。", "Only the first 200 rows are shown; download the error report for all."),
    ("import.failed", "失败", "Failed"),
    ("import.field", "对应字段", "Field"),
    ("import.file", "文件", "File"),
    ("import.finished", "导入完成", "Import finished"),
    ("import.go_list", "查看客户列表", "Go to the customer list"),
    ("import.headers_help", "可识别的表头（中文或英文均可，不区分大小写）：", "Recognised headers (Chinese or English, any case):"),
    ("import.ignore", "— 忽略此列 —", "— ignore this column —"),
    ("import.line", "行号", "Line"),
    ("import.mapping_help", "请确认每一列对应的客户字段，已按表头自动选好。", "Check which customer field each column fills; they are chosen from the headers."),
    ("import.mapping_title", "第 2 步：确认列对应", "Step 2: match the columns"),
    ("import.new_import", "导入另一个文件", "Import another file"),
    ("import.problem", "问题", "Problem"),
    ("import.reason.birthday_mismatch", "生日与身份证号中的出生日期不一致", "Birthday does not match the ID card"),
    ("import.reason.duplicate_in_file", "客户编号在文件中重复", "Customer code repeated in the file"),
    ("import.reason.in_future", "日期不能晚于今天", "Date in the future"),
    ("import.reason.invalid_checksum", "身份证号校验位错误", "Wrong ID card check digit"),
    ("import.reason.invalid_choice", "不是可选的值", "Not one of the choices"),
    ("import.reason.invalid_customer_code", "客户编号格式错误（应为 C 加 6 位数字）", "Invalid customer code"),
    ("import.reason.invalid_date", "日期格式错误", "Invalid date"),
    ("import.reason.invalid_email", "邮箱格式错误", "Invalid e-mail"),
    ("import.reason.invalid_landline", "固定电话格式错误", "Invalid landline"),
    ("import.reason.invalid_length", "身份证号位数错误", "Wrong number of characters"),
    ("import.reason.invalid_mobile", "手机号格式错误", "Invalid mobile number"),
    ("import.reason.invalid_passport", "护照号格式错误", "Invalid passport number"),
    ("import.reason.invalid_phone", "电话号码格式错误", "Invalid phone number"),
    ("import.reason.masked", "号码已打码，请填写完整号码或留空", "Masked number"),
    ("import.reason.not_allowed", "无权操作", "Not allowed"),
    ("import.reason.not_found", "找不到", "Not found"),
    ("import.reason.required", "必填", "Required"),
    ("import.rows", "行", "rows"),
    ("import.run", "正式导入", "Import now"),
    ("import.sample", "示例内容", "Sample values"),
    ("import.skipped", "空行", "Blank rows"),
    ("import.steps", "第 1 步：上传文件 → 第 2 步：确认列对应 → 第 3 步：试导入 → 第 4 步：正式导入", "Step 1: upload → step 2: match columns → step 3: dry run → step 4: import"),
    ("import.summary", "汇总", "Summary"),
    ("import.title", "导入客户", "Import customers"),
    ("import.total", "总行数", "Rows"),
    ("import.unchanged", "无变化", "Unchanged"),
    ("import.unknown_columns", "未识别、已忽略的列", "Columns not recognised (ignored)"),
    ("import.updated", "更新", "Updated"),
    ("import.upload", "上传并识别表头", "Upload and read the headers"),
    ("import.upload_help", "在 Excel 中“另存为” Excel 工作簿（.xlsx）或 CSV 即可，GBK 和 UTF-8 编码都能自动识别。每行独立导入：有问题的行不会写入，其余行照常导入；带客户编号的行会更新已有客户。", "Save the list from Excel as a workbook (.xlsx) or CSV; GBK and UTF-8 are detected. Each row is imported on its own: a row with problems writes nothing, the others are imported; rows with a known customer code update that customer."),
    ("import.would_create", "将新建", "Would create"),
    ("import.would_update", "将更新", "Would update"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_sorted_and_prefixed() {
        let keys: Vec<&str> = TEXTS.iter().map(|(k, _, _)| *k).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert!(keys.iter().all(|k| k.starts_with("import.") || k.starts_with("export.")));
    }
}
