//! The engine's core at work: each instance called inside `catch_unwind`
//! (a strategy that errs or panics is failed and its orders cancelled), the
//! intents it emits checked by risk and routed to their venue's execution
//! client (denials handed back for a bounded number of rounds), and order
//! updates applied to risk, the portfolio and the owning instance.

use std::panic::{AssertUnwindSafe, catch_unwind};

use super::*;

impl Core {
    /// Calls one callback of instance `idx` (if it is running), contains
    /// failures, then sends the intents it emitted.
    pub(super) fn dispatch<F>(&mut self, idx: usize, f: F)
    where
        F: FnOnce(&mut dyn Strategy, &dyn Context, &mut Intents) -> Result<(), StrategyError>,
    {
        if self.invoke(idx, f) {
            self.process_intents(idx);
        }
    }

    /// Runs the callback; returns whether it emitted intents.
    pub(super) fn invoke<F>(&mut self, idx: usize, f: F) -> bool
    where
        F: FnOnce(&mut dyn Strategy, &dyn Context, &mut Intents) -> Result<(), StrategyError>,
    {
        let slot = &mut self.slots[idx];
        if slot.status != InstanceStatus::Running {
            return false;
        }
        let trading = match self.risk.global_state().stricter(slot.trading_state) {
            TradingState::Active => Trading::Active,
            TradingState::Reducing => Trading::Reducing,
            TradingState::Halted => Trading::Halted,
        };
        let view =
            StrategyView { market: &self.market, positions: &slot.positions, open_orders: &slot.open_orders, trading };
        let outcome = catch_unwind(AssertUnwindSafe(|| f(slot.strategy.as_mut(), &view, &mut slot.intents)));
        let failure = match outcome {
            Ok(Ok(())) => {
                // The state saved in this callback goes to the journal before its intents.
                if let Some(state) = slot.intents.take_state() {
                    if let Some(sink) = &mut self.state_sink {
                        sink(&slot.name, state.clone());
                    }
                    slot.last_state = Some(state);
                }
                return !slot.intents.is_empty();
            }
            Ok(Err(e)) => format!("error: {e}"),
            Err(panic) => format!("panic: {}", panic_message(panic.as_ref())),
        };
        self.fail(idx, failure);
        false
    }

    /// Marks instance `idx` failed, drops its pending intents and cancels its orders.
    pub(super) fn fail(&mut self, idx: usize, reason: String) {
        let slot = &mut self.slots[idx];
        tracing::error!(strategy = %slot.name, %reason, "strategy failed; instance halted, its orders cancelled");
        slot.intents.clear();
        slot.status = InstanceStatus::Failed(reason);
        self.cancel_all(idx);
    }

    pub(super) fn process_intents(&mut self, idx: usize) {
        for _ in 0..MAX_DENIAL_ROUNDS {
            let intents: Vec<OrderIntent> = self.slots[idx].intents.drain().collect();
            let denials: Vec<OrderUpdate> =
                intents.into_iter().filter_map(|intent| self.route(idx, intent).err()).map(Refused::update).collect();
            if denials.is_empty() {
                return;
            }
            let mut more = false;
            for denial in &denials {
                self.log_denial(idx, denial);
                if let OrderUpdate::Denied { reason, .. } | OrderUpdate::AmendRefused { reason, .. } = denial {
                    metrics::counter!("tradewind_risk_denials_total", "strategy" => self.slots[idx].name.clone(), "reason" => reason.code.clone())
                        .increment(1);
                }
                more |= self.invoke(idx, |s, ctx, out| s.on_order_update(ctx, denial, out));
            }
            if !more {
                return;
            }
        }
        let slot = &mut self.slots[idx];
        tracing::warn!(strategy = %slot.name, "strategy keeps sending denied orders; dropping its intents for now");
        slot.intents.clear();
    }

    /// Checks and submits one intent; a refusal names the order it concerns.
    pub(super) fn route(&mut self, idx: usize, intent: OrderIntent) -> Result<(), Refused> {
        let denied = |id| move |reason| Refused::Order(id, reason);
        match intent {
            OrderIntent::Place { id, order } => {
                self.check(idx, &order, None).map_err(denied(id))?;
                let origin = self.origin;
                self.submit(idx, order.venue, ExecRequest::Place { id, order, origin }).map_err(denied(id))?;
                self.sent(idx, id, order);
            }
            OrderIntent::Replace { cancel, id, order } => {
                self.check(idx, &order, Some(cancel)).map_err(denied(id))?;
                let origin = self.origin;
                self.submit(idx, order.venue, ExecRequest::Replace { cancel, id, order, origin })
                    .map_err(denied(id))?;
                self.sent(idx, id, order);
            }
            OrderIntent::Amend { id, qty, price } => {
                let refused = |reason| Refused::Amend(id, reason);
                let amended = self.amended(idx, id, qty, price).map_err(refused)?;
                // Checked as the order it becomes, in place of the one it was.
                self.check(idx, &amended, Some(id)).map_err(refused)?;
                let origin = self.origin;
                self.submit(idx, amended.venue, ExecRequest::Amend { id, order: amended, origin }).map_err(refused)?;
                self.count_sent(idx);
            }
            OrderIntent::Cancel { id } => {
                let Some(open) = self.slots[idx].open_orders.iter().find(|o| o.id == id).copied() else {
                    tracing::debug!(strategy = %self.slots[idx].name, client_order_id = %id, "cancel of an order that is not open");
                    return Ok(());
                };
                self.send_cancel(idx, &open);
            }
            OrderIntent::CancelAll { venue, symbol } => {
                let targets: Vec<OpenOrder> = self.slots[idx]
                    .open_orders
                    .iter()
                    .filter(|o| o.order.venue == venue && symbol.is_none_or(|s| s == o.order.symbol))
                    .copied()
                    .collect();
                for o in &targets {
                    self.send_cancel(idx, o);
                }
            }
        }
        Ok(())
    }

    /// Open order `id` of instance `idx` with the new quantity and price of an amend.
    fn amended(
        &self,
        idx: usize,
        id: ClientOrderId,
        qty: Option<Qty>,
        price: Option<tradewind_strategies::sdk::Price>,
    ) -> Result<tradewind_strategies::sdk::NewOrder, Reason> {
        let Some(open) = self.slots[idx].open_orders.iter().find(|o| o.id == id) else {
            return Err(Reason::new("amend_not_open", format!("{id} is not an open order of this strategy")));
        };
        if !self.acknowledged.contains(&id) {
            return Err(Reason::new("amend_not_acknowledged", format!("{id} is not acknowledged by the venue yet")));
        }
        let mut order = open.order;
        order.kind = match (order.kind, price) {
            (OrderKind::Market, _) => return Err(Reason::new("amend_market", "a market order cannot be amended")),
            (kind, None) => kind,
            (OrderKind::Limit { tif, .. }, Some(price)) => OrderKind::Limit { price, tif },
            (OrderKind::PostOnly { .. }, Some(price)) => OrderKind::PostOnly { price },
        };
        if let Some(qty) = qty {
            if qty <= open.filled {
                let message = format!("the new quantity {qty} does not exceed the {} already filled", open.filled);
                return Err(Reason::new("amend_qty_filled", message));
            }
            order.qty = qty;
        }
        if qty.is_none() && price.is_none() {
            return Err(Reason::new("amend_nothing", "an amend must change the quantity or the price"));
        }
        Ok(order)
    }

    /// Logs a denial at INFO at most once a second per strategy and reason
    /// (a strategy pushing against a limit would flood the log); DEBUG otherwise.
    pub(super) fn log_denial(&mut self, idx: usize, denial: &OrderUpdate) {
        let code = match denial {
            OrderUpdate::Denied { reason, .. } | OrderUpdate::AmendRefused { reason, .. } => reason.code.clone(),
            _ => String::new(),
        };
        let now = std::time::Instant::now();
        let key = (idx, code);
        let recent =
            self.denials_logged.get(&key).is_some_and(|t| now.duration_since(*t) < std::time::Duration::from_secs(1));
        let name = &self.slots[idx].name;
        if !recent {
            self.denials_logged.insert(key, now);
            tracing::info!(strategy = %name, client_order_id = %denial.id(), ?denial, "order denied (repeats within a second are logged at DEBUG)");
        } else {
            tracing::debug!(strategy = %name, client_order_id = %denial.id(), ?denial, "order denied");
        }
    }

    pub(super) fn submit(&mut self, idx: usize, venue: VenueId, request: ExecRequest) -> Result<(), Reason> {
        let client = self.venues.get_mut(&venue).ok_or_else(|| {
            Reason::new("no_execution", format!("venue {venue} has no execution client (not connected or no keys)"))
        })?;
        client.submit(request).map_err(|e| {
            tracing::warn!(strategy = %self.slots[idx].name, %venue, error = %e, "request not queued");
            Reason::new(e.code(), e.to_string())
        })?;
        self.requests += 1;
        Ok(())
    }

    /// A new order went to its venue: counted against the rate limits and tracked.
    pub(super) fn sent(&mut self, idx: usize, id: ClientOrderId, order: tradewind_strategies::sdk::NewOrder) {
        self.count_sent(idx);
        self.track(idx, id, order);
    }

    pub(super) fn track(&mut self, idx: usize, id: ClientOrderId, order: tradewind_strategies::sdk::NewOrder) {
        self.slots[idx].open_orders.push(OpenOrder { id, order, filled: Qty::ZERO });
        self.owners.insert(id, idx);
    }

    /// Submits a cancel for every open order of instance `idx`; returns how many.
    pub(super) fn cancel_all(&mut self, idx: usize) -> usize {
        let open: Vec<OpenOrder> = self.slots[idx].open_orders.clone();
        for o in &open {
            self.send_cancel(idx, o);
        }
        open.len()
    }

    /// Submits a cancel of `order`; one that cannot be queued is logged and
    /// the order stays open and tracked.
    pub(super) fn send_cancel(&mut self, idx: usize, order: &OpenOrder) {
        let request = ExecRequest::Cancel { id: order.id, symbol: order.order.symbol };
        if let Err(reason) = self.submit(idx, order.order.venue, request) {
            tracing::warn!(client_order_id = %order.id, %reason, "cancel not sent");
        }
    }

    pub(super) fn on_order_update(&mut self, update: OrderUpdate) {
        if let Some(idx) = self.apply_update(&update) {
            if update.fill().is_some() {
                self.watch_losses(Some(idx));
            }
            self.dispatch(idx, |s, ctx, out| s.on_order_update(ctx, &update, out));
        }
    }

    /// Applies an update to its owner's position and open orders; returns the owner.
    pub(super) fn apply_update(&mut self, update: &OrderUpdate) -> Option<usize> {
        let Some(&idx) = self.owners.get(update.id()) else {
            tracing::debug!(client_order_id = %update.id(), "update for an order not placed by a running strategy");
            return None;
        };
        let slot = &mut self.slots[idx];
        if let Some(fill) = update.fill() {
            let assets = self.market.instruments.get(&(fill.venue, fill.symbol)).map(|s| (s.base, s.quote));
            slot.positions.entry((fill.venue, fill.symbol)).or_default().apply(fill, assets);
            if let Some(open) = slot.open_orders.iter_mut().find(|o| o.id == fill.id) {
                open.filled += fill.qty;
            }
        }
        if let OrderUpdate::Amended { id, qty, price } = update
            && let Some(open) = slot.open_orders.iter_mut().find(|o| o.id == *id)
        {
            open.order.qty = *qty;
            open.order.kind = match open.order.kind {
                OrderKind::Limit { tif, .. } => OrderKind::Limit { price: *price, tif },
                OrderKind::PostOnly { .. } => OrderKind::PostOnly { price: *price },
                OrderKind::Market => OrderKind::Market,
            };
        }
        if update.is_terminal() {
            slot.open_orders.retain(|o| o.id != *update.id());
            self.owners.remove(update.id());
            self.acknowledged.remove(update.id());
        } else if matches!(update, OrderUpdate::Accepted { .. } | OrderUpdate::PartiallyFilled { .. }) {
            self.acknowledged.insert(*update.id());
        }
        Some(idx)
    }
}

/// An intent refused before it left the engine.
pub(super) enum Refused {
    /// A new order (or replacement): its strategy hears `Denied`.
    Order(ClientOrderId, Reason),
    /// An amend: `AmendRefused`, and the order stands as it was.
    Amend(ClientOrderId, Reason),
}

impl Refused {
    fn update(self) -> OrderUpdate {
        match self {
            Refused::Order(id, reason) => OrderUpdate::Denied { id, reason },
            Refused::Amend(id, reason) => OrderUpdate::AmendRefused { id, reason },
        }
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}
