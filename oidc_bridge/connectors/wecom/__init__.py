"""The WeCom connector."""

from .connector import WeComConnector, build_wecom_connector

__all__ = ["WeComConnector", "build_wecom_connector"]
