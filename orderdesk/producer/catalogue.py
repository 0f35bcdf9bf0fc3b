"""What the simulated shop sells and to whom: products, returning customers, warehouses.

Everything here is drawn once, when a generator starts, from its `random.Random`; the
order of the draws is part of the generator's output for a seed, so keep it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    price_cents: int


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    email: str
    phone: str
    address: str
    city: str
    loyalty_level: str


# name, category, price in euros
_BASE_PRODUCTS: tuple[tuple[str, str, float], ...] = (
    ("Wireless Mouse", "electronics", 24.90),
    ("Mechanical Keyboard", "electronics", 89.00),
    ("USB-C Hub", "electronics", 39.99),
    ("27-inch Monitor", "electronics", 249.00),
    ("Noise-Cancelling Headphones", "electronics", 179.50),
    ("Webcam HD", "electronics", 59.90),
    ("Portable SSD 1 TB", "electronics", 109.00),
    ("Phone Charger 30 W", "electronics", 19.99),
    ("Bluetooth Speaker", "electronics", 49.00),
    ("E-Reader", "electronics", 129.99),
    ("Espresso Machine", "kitchen", 199.00),
    ("Chef's Knife", "kitchen", 64.50),
    ("Cast Iron Pan", "kitchen", 42.00),
    ("Electric Kettle", "kitchen", 34.90),
    ("Coffee Beans 1 kg", "kitchen", 21.40),
    ("Tea Assortment", "kitchen", 12.80),
    ("Cutting Board", "kitchen", 18.00),
    ("Blender", "kitchen", 79.00),
    ("Running Shoes", "sport", 119.00),
    ("Yoga Mat", "sport", 29.90),
    ("Water Bottle", "sport", 14.50),
    ("Cycling Helmet", "sport", 69.00),
    ("Tennis Racket", "sport", 95.00),
    ("Backpack 30 L", "sport", 74.99),
    ("Desk Lamp", "home", 36.00),
    ("Office Chair", "home", 229.00),
    ("Throw Blanket", "home", 39.00),
    ("Scented Candle", "home", 16.90),
    ("Plant Pot", "home", 11.50),
    ("Wall Clock", "home", 27.00),
    ("Notebook A5", "stationery", 6.90),
    ("Fountain Pen", "stationery", 48.00),
    ("Sticky Notes", "stationery", 3.20),
    ("Desk Organizer", "stationery", 22.50),
    ("Board Game", "toys", 44.90),
    ("Puzzle 1000 pieces", "toys", 19.90),
    ("Building Blocks Set", "toys", 59.99),
    ("Paperback Novel", "books", 9.50),
    ("Cookbook", "books", 27.90),
    ("Travel Guide", "books", 18.50),
)
_VARIANTS = ("", " (black)", " (white)", " (blue)", " (grey)", " (red)", " (green)", " XL")

_FIRST_NAMES = (
    "Camille", "Léa", "Manon", "Chloé", "Inès", "Jade", "Louise", "Emma", "Sarah", "Julie",
    "Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Nathan", "Théo", "Paul", "Adam",
    "Amélie", "Hélène", "Noé", "Mathis", "Sofia", "Yasmine", "Karim", "Mehdi", "Anaïs", "Zoé",
)  # fmt: skip
_LAST_NAMES = (
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
    "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
    "Vincent", "Fournier", "Morel", "Girard", "André", "Mercier", "Dupont", "Lambert",
    "Bonnet", "François", "Martinez", "Legrand",
)  # fmt: skip
_STREETS = (
    "rue de la Paix", "avenue Victor Hugo", "boulevard Saint-Michel", "rue du Moulin",
    "place de la République", "rue des Lilas", "chemin des Vignes", "rue Pasteur",
    "avenue Jean Jaurès", "rue de la Gare", "allée des Tilleuls", "quai de la Loire",
)  # fmt: skip
# city, postcode prefix, warehouse that serves it (None: the default warehouse)
_CITIES: tuple[tuple[str, str, str | None], ...] = (
    ("Paris", "750", None),
    ("Lyon", "690", "LYON-01"),
    ("Marseille", "130", "MARSEILLE-01"),
    ("Toulouse", "310", "TOULOUSE-01"),
    ("Lille", "590", "LILLE-01"),
    ("Bordeaux", "330", "BORDEAUX-01"),
    ("Nantes", "440", None),
    ("Strasbourg", "670", None),
    ("Rennes", "350", None),
    ("Montpellier", "340", "MARSEILLE-01"),
)
_EMAIL_DOMAINS = ("example.com", "mail.example.org", "example.net", "shop.example.fr")
# (level, weight): most customers are new, a few are long-standing.
_LOYALTY = (("bronze", 50), ("silver", 30), ("gold", 15), ("platinum", 5))
STATUSES = (("pending", 70), ("paid", 30))
OTHER_PAYMENT_METHODS = (("paypal", 20), ("debit_card", 15), ("bank_transfer", 5))
QUANTITIES = ((1, 55), (2, 25), (3, 10), (4, 6), (5, 4))
_CUSTOMERS = 500
_ASCII = str.maketrans("éèêëàâäîïôöûüçÉ", "eeeeaaaiioouucE")


def weighted(pairs: tuple[tuple[Any, int], ...]) -> tuple[Any, ...]:
    """A lookup table where each value appears `weight` times: one random index picks one."""
    return tuple(value for value, weight in pairs for _ in range(weight))


def warehouses(default: str) -> list[str]:
    """The default warehouse first, then every city's own one."""
    names = [default]
    for _, _, warehouse in _CITIES:
        if warehouse is not None and warehouse not in names:
            names.append(warehouse)
    return names


def make_products(rng: random.Random, max_items: int) -> list[Product]:
    products: list[Product] = []
    # Enough products for an order of max_items distinct lines to be a small draw.
    wanted = max(len(_BASE_PRODUCTS), 2 * max_items)
    variant = 0
    while len(products) < wanted:
        suffix = _VARIANTS[variant % len(_VARIANTS)]
        for name, category, euros in _BASE_PRODUCTS:
            if len(products) == wanted:
                break
            # Variants cost a little more or less than the base model.
            factor = 1.0 if variant == 0 else rng.uniform(0.9, 1.15)
            cents = max(1, round(euros * 100 * factor))
            sku = f"SKU-{category[:3].upper()}-{len(products) + 1:04d}"
            products.append(Product(sku, name + suffix, category, cents))
        variant += 1
    return products


def make_customers(rng: random.Random) -> list[Customer]:
    loyalty = weighted(_LOYALTY)
    customers = []
    for i in range(1, _CUSTOMERS + 1):
        first = rng.choice(_FIRST_NAMES)
        last = rng.choice(_LAST_NAMES)
        city, postcode, _ = rng.choice(_CITIES)
        local = f"{first}.{last}".lower().translate(_ASCII).replace(" ", "")
        email = f"{local}{rng.randint(1, 99)}@{rng.choice(_EMAIL_DOMAINS)}"
        phone = "+33 {} {:02d} {:02d} {:02d} {:02d}".format(
            rng.choice((6, 7)), *(rng.randint(0, 99) for _ in range(4))
        )
        address = (
            f"{rng.randint(1, 180)} {rng.choice(_STREETS)}, "
            f"{postcode}{rng.randint(1, 20):02d} {city}, France"
        )
        customers.append(
            Customer(
                customer_id=f"CUST-{i:05d}",
                name=f"{first} {last}",
                email=email,
                phone=phone,
                address=address,
                city=city,
                loyalty_level=rng.choice(loyalty),
            )
        )
    return customers
