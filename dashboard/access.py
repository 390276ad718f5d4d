"""Who may see a served instance: the Host header must be one the server answers for (a page reached through
another name, as in DNS rebinding, shows nothing), and a team instance can require a shared access token or
Streamlit's OpenID Connect sign-in. Configured by `prefatlas serve` through the environment."""

from __future__ import annotations

import hmac
import os

import streamlit as st

from analytics.viewstate import host_allowed

TOKEN_ENV = "PREFATLAS_TOKEN"
HOSTS_ENV = "PREFATLAS_ALLOWED_HOSTS"


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, OSError):
        return False
    except Exception:  # streamlit raises its own error for a missing or malformed secrets file
        return False


def gate() -> None:
    """Stop the run (after saying why) unless this visitor may see the data."""
    host = st.context.headers.get("Host") if st.context.headers else None
    allowed = [h for h in os.environ.get(HOSTS_ENV, "").split(",") if h.strip()]
    if not host_allowed(host, allowed):
        print(f"prefatlas: refused a page for Host {host!r} (allowed: {', '.join(allowed)})", flush=True)
        st.error("This server does not answer for the address used to reach it. Open it by its own address.")
        st.stop()
    if _oidc_configured():
        if not st.user.is_logged_in:
            st.title("prefatlas")
            st.button("Sign in", on_click=st.login, icon=":material/login:")
            st.stop()
        return
    token = os.environ.get(TOKEN_ENV)
    if token and not st.session_state.get("_signed_in"):
        st.title("prefatlas")
        with st.form("sign_in", border=False):
            given = st.text_input("Access token", type="password", help="Ask the person who runs this server.")
            if st.form_submit_button("Open"):
                if hmac.compare_digest(given.encode(), token.encode()):
                    st.session_state["_signed_in"] = True
                    st.rerun()
                st.error("That is not the access token.")
        st.stop()


def visitor_name() -> str | None:
    """The signed-in person's name (OpenID Connect), for attributing saved views; None otherwise."""
    if _oidc_configured() and st.user.is_logged_in:
        return str(st.user.get("name") or st.user.get("email") or "") or None
    return None
