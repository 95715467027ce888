"""The CRM port on a vtenext / vtiger CRM through its `webservice.php` API."""
from wasb.crm.vtenext.adapter import VtenextCRM
from wasb.crm.vtenext.check import CheckReport, check
from wasb.crm.vtenext.webservice import Webservice, WebserviceError

__all__ = ["VtenextCRM", "Webservice", "WebserviceError", "check", "CheckReport"]
