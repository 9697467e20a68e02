"""Incoming inspection (进货查验), stock, sale = registration (卖车即备案), trade-in (以旧换新)."""
