//! Orders (订单): from a quote, a departure or directly, with travellers,
//! hotel stays and their spend by outlet (`sales.read`, `sales.write`).

mod api;
mod pages;

use crate::AppState;
use utoipa_axum::router::OpenApiRouter;

pub(crate) use api::BalanceOut;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(api::router()).merge(pages::router())
}

/// Interface texts: (key, 中文, English).
pub(crate) static TEXTS: &[(&str, &str, &str)] = &[
    ("nav.orders", "订单", "Orders"),
    ("orders.title", "订单", "Orders"),
    ("orders.new", "新建订单", "New order"),
    ("orders.order_no", "订单号", "Order no."),
    ("orders.customer", "客户", "Customer"),
    ("orders.product_type", "产品类型", "Product type"),
    ("orders.destination", "目的地", "Destination"),
    ("orders.order_date", "下单日期", "Order date"),
    ("orders.travel_date", "出行日期", "Travel date"),
    ("orders.return_date", "返回日期", "Return date"),
    ("orders.adults", "成人", "Adults"),
    ("orders.children", "儿童", "Children"),
    ("orders.amount", "金额", "Amount"),
    ("orders.cost", "成本", "Cost"),
    ("orders.due_date", "应付日期", "Due date"),
    ("orders.status", "状态", "Status"),
    ("orders.source", "来源渠道", "Source channel"),
    ("orders.campaign", "营销活动", "Campaign"),
    ("orders.owner", "销售顾问", "Salesperson"),
    ("orders.notes", "备注", "Notes"),
    ("orders.travellers", "出行人", "Travellers"),
    ("orders.charges", "消费明细", "Charges"),
    ("orders.room_type", "房型", "Room type"),
    ("orders.room_number", "房号", "Room number"),
    ("orders.check_in", "入住日期", "Check-in"),
    ("orders.check_out", "离店日期", "Check-out"),
    ("orders.nightly_rate", "每晚房价", "Nightly rate"),
    ("orders.outlet", "消费场所", "Outlet"),
    ("orders.spend_total", "消费合计", "Total spend"),
    ("orders.departure", "团期", "Departure"),
    ("orders.quote", "报价单", "Quote"),
    ("orders.opportunity", "商机", "Opportunity"),
    ("orders.search", "订单号或客户", "Order no. or customer"),
    ("orders.month", "下单月份", "Order month"),
    ("orders.back_to_list", "返回订单列表", "Back to orders"),
    ("orders.edit", "修改订单", "Edit order"),
    (
        "orders.stale",
        "订单已被他人修改，请重新打开后再保存",
        "Someone else changed this order; open it again before saving",
    ),
    ("orders.customer_id", "客户编号(ID)", "Customer ID"),
    ("orders.hotel", "酒店住宿", "Hotel stay"),
    ("orders.add_traveller", "添加出行人", "Add traveller"),
    ("orders.charge_description", "消费项目", "What"),
    ("orders.add_charge", "记一笔消费", "Post charge"),
    ("orders.or_new_customer", "或新建客户：", "or a new customer:"),
    ("orders.traveller_name", "姓名", "Name"),
    ("orders.traveller_mobile", "手机", "Mobile"),
    ("orders.traveller_id_card", "身份证号", "ID card no."),
];
