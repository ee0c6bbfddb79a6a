"""The OpenID Provider core: no Flask, redis or requests imports here."""
