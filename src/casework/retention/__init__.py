"""Retention at scale: campaigns with personal response codes, responses from every entry
channel turned into retention orders, processed straight through; only exceptions reach a
person."""
