//! Per-provider circuit breaker: opens after N consecutive failures, lets a single
//! half-open probe through after the open duration, closes on success. Its state is
//! exported as `docent_llm_circuit_breaker_state{provider}` (0 closed, 1 half-open, 2 open).

use super::{BreakerSettings, LlmError};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::time::Instant;

/// Observable breaker state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Requests flow.
    Closed,
    /// One probe request is allowed (or due).
    HalfOpen,
    /// Requests are refused.
    Open,
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// A circuit breaker; share it as `Arc<CircuitBreaker>`.
#[derive(Debug)]
pub struct CircuitBreaker {
    provider: String,
    settings: BreakerSettings,
    state: Mutex<State>,
}

/// Permission to send one request; report its result with [`Permit::success`] or
/// [`Permit::failure`]. Dropping an unresolved half-open probe frees the probe slot.
#[derive(Debug)]
pub struct Permit {
    breaker: Arc<CircuitBreaker>,
    probe: bool,
    resolved: bool,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(provider: &str, settings: BreakerSettings) -> Arc<Self> {
        let breaker =
            Self { provider: provider.to_owned(), settings, state: Mutex::new(State::Closed { failures: 0 }) };
        breaker.publish(BreakerState::Closed);
        Arc::new(breaker)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn publish(&self, state: BreakerState) {
        let value = match state {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
        };
        metrics::gauge!("docent_llm_circuit_breaker_state", "provider" => self.provider.clone()).set(value);
    }

    /// Current state (an expired open period reads as half-open).
    pub fn state(&self) -> BreakerState {
        match *self.lock() {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { until } if Instant::now() >= until => BreakerState::HalfOpen,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Asks to send a request.
    pub fn try_acquire(self: &Arc<Self>) -> Result<Permit, LlmError> {
        let mut state = self.lock();
        let probe = match *state {
            State::Closed { .. } => false,
            State::Open { until } if Instant::now() >= until => true,
            State::HalfOpen { probing: false } => true,
            State::Open { .. } | State::HalfOpen { probing: true } => {
                return Err(LlmError::BreakerOpen { provider: self.provider.clone() });
            }
        };
        if probe {
            *state = State::HalfOpen { probing: true };
            drop(state);
            self.publish(BreakerState::HalfOpen);
        }
        Ok(Permit { breaker: Arc::clone(self), probe, resolved: false })
    }

    /// Records a success: closes the breaker.
    pub fn record_success(&self) {
        let mut state = self.lock();
        let was_closed = matches!(*state, State::Closed { .. });
        *state = State::Closed { failures: 0 };
        drop(state);
        if !was_closed {
            tracing::info!(provider = %self.provider, "circuit breaker closed");
            self.publish(BreakerState::Closed);
        }
    }

    /// Records a failure: opens after the threshold, or at once from half-open.
    pub fn record_failure(&self) {
        let mut state = self.lock();
        let open = match *state {
            State::Closed { failures } if failures + 1 < self.settings.failure_threshold => {
                *state = State::Closed { failures: failures + 1 };
                false
            }
            State::Open { .. } => false,
            _ => true,
        };
        if open {
            *state = State::Open { until: Instant::now() + self.settings.open_duration };
            drop(state);
            tracing::warn!(provider = %self.provider, "circuit breaker opened");
            self.publish(BreakerState::Open);
        }
    }
}

impl Permit {
    /// The request succeeded.
    pub fn success(mut self) {
        self.resolved = true;
        self.breaker.record_success();
    }

    /// The request failed in a way that says the provider is unhealthy.
    pub fn failure(mut self) {
        self.resolved = true;
        self.breaker.record_failure();
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.probe && !self.resolved {
            let mut state = self.breaker.lock();
            if matches!(*state, State::HalfOpen { probing: true }) {
                *state = State::HalfOpen { probing: false };
            }
        }
    }
}
