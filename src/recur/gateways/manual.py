"""The manual gateway: bank transfers, cheques, cash — nothing is charged automatically.

Invoices of an account on this gateway stay `open` until the merchant records the payment
(`POST /v1/invoices/{id}/pay` with `paid_out_of_band=true`). Billing never calls `charge`
on it (`collects_automatically` is False); a call anyway is a programming error.
"""

from __future__ import annotations

from collections.abc import Sequence

from recur.gateways.base import (
    ChargeRequest,
    ChargeResult,
    GatewayScope,
    LookupHint,
    MethodRef,
    RefundRequest,
    RefundResult,
)


class ManualGateway:
    """Money moves outside Recur; the merchant says when it has."""

    name = "manual"
    collects_automatically = False

    def create_customer(self, scope: GatewayScope, customer_id: str) -> str:
        """No gateway-side customer: the reference is Recur's id."""
        return customer_id

    def attach_method(self, scope: GatewayScope, customer_reference: str, method: MethodRef) -> str:
        """No gateway-side method: the reference is Recur's id."""
        return method.id

    def charge(self, request: ChargeRequest) -> ChargeResult:
        """Never called: payments are recorded out of band."""
        raise RuntimeError("the manual gateway does not charge: pay invoices out of band")

    def charge_many(self, requests: Sequence[ChargeRequest]) -> list[ChargeResult]:
        """Never called (see `charge`)."""
        raise RuntimeError("the manual gateway does not charge: pay invoices out of band")

    def refund(self, request: RefundRequest) -> RefundResult:
        """Never called: an out-of-band payment is refunded out of band too."""
        raise RuntimeError("the manual gateway does not refund: refund out of band")

    def find_charge(
        self, scope: GatewayScope, idempotency_key: str, hint: LookupHint | None = None
    ) -> ChargeResult | None:
        """The manual gateway makes no charges."""
        return None

    def find_refund(
        self, scope: GatewayScope, idempotency_key: str, hint: LookupHint | None = None
    ) -> RefundResult | None:
        """The manual gateway makes no refunds."""
        return None
