"""Offers and actions the organisation can propose to a customer: the catalogue that
retention campaigns send and next-best-offer ranks for agents and the bot."""
