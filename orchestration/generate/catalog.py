"""The fixed world of the sample feeds: stores, campaigns, products, names, texts.

Everything here is plain data; the randomness lives in the simulation modules.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Store:
    """One VTEX store with its WhatsApp Business account; a campaign belongs to one store."""

    key: str
    currency: str
    country: str  # VTEX countryCode
    phone_prefix: str  # E.164 country code (and mobile prefix) of its shoppers
    phone_digits: int  # digits after the prefix
    waba_id: str  # the webhook's entry[].id
    phone_number_id: str
    display_phone_number: str
    host: str
    time_zone: str  # VTEX storePreferencesData.timeZone (a Windows zone name)
    utc_offset_minutes: int
    language: str  # of product names, replies and button texts: "pt" or "es"
    price_factor: float  # catalog prices are BRL cents; other currencies scale them
    order_group_base: int  # orderGroup numbers count up from here (the last 6 digits: sequence)


STORES: dict[str, Store] = {
    "br": Store("br", "BRL", "BRA", "55", 11, "102290129340398", "106540352242922", "15550783881",
                "www.lojaexemplo.com.br", "E. South America Standard Time", -180, "pt", 1.0,
                1339340500000),
    "mx": Store("mx", "MXN", "MEX", "52", 10, "108753204510961", "110924318266433", "15550192837",
                "www.tiendaejemplo.com.mx", "Central Standard Time (Mexico)", -360, "es", 3.5,
                1421870200000),
    "co": Store("co", "COP", "COL", "573", 9, "113355207184302", "117780419925381", "15550476610",
                "www.tiendaejemplo.com.co", "SA Pacific Standard Time", -300, "es", 800.0,
                1510280300000),
}

# Area codes drawn for Brazilian numbers (the digit 9 of mobiles follows).
BR_AREA_CODES = (11, 11, 11, 21, 21, 31, 41, 47, 48, 51, 61, 62, 71, 81, 85, 91)
MX_AREA_CODES = (55, 55, 33, 81, 222, 442, 998)

# message_type -> WhatsApp template name
TEMPLATES = {
    "cart_reminder": "cart_reminder_v2",
    "payment_reminder": "pix_pending_v1",
    "browse_reminder": "browse_abandon_v1",
    "winback_reminder": "winback_v1",
}


@dataclass(frozen=True)
class CampaignSpec:
    campaign_id: str
    store: str
    name: str
    language: str
    message_type: str
    weight: float  # share of the sends
    edit: dict | None = None  # the fields an admin changes mid-period, if any


CAMPAIGN_CATALOG: tuple[CampaignSpec, ...] = (
    CampaignSpec("cmp_cart_pt", "br", "Carrinho abandonado", "pt_BR", "cart_reminder", 0.45,
                 {"name": "Carrinho abandonado - frete grátis"}),
    CampaignSpec("cmp_cart_es", "mx", "Carrito abandonado", "es_MX", "cart_reminder", 0.25,
                 {"language": "es"}),
    CampaignSpec("cmp_pix_pt", "br", "Pix pendente", "pt_BR", "payment_reminder", 0.15,
                 {"name": "Pix pendente: pague em 1 clique", "message_type": "cart_reminder"}),
    CampaignSpec("cmp_browse_pt", "br", "Produtos vistos recentemente", "pt_BR", "browse_reminder", 0.15),
    CampaignSpec("cmp_cart_co", "co", "Carrito abandonado Colombia", "es_CO", "cart_reminder", 0.10,
                 {"name": "Carrito abandonado CO"}),
    CampaignSpec("cmp_winback_es", "mx", "Vuelve a tu carrito", "es_MX", "winback_reminder", 0.10),
)

# (name, price in BRL cents); 31 of each (a prime: a cart walks the catalog with a stride).
PRODUCTS = {
    "pt": (
        ("Camiseta Básica Branca", 4990), ("Camiseta Azul", 4990), ("Calça Jeans Slim", 15990),
        ("Tênis Corrida Leve", 29990), ('Tênis "Runner" 42', 34990), ("Meia Esportiva (3 pares)", 3990),
        ("Boné Aba Curva", 7990), ("Mochila Urbana 20L", 18990), ("Jaqueta Corta-Vento", 24990),
        ("Shorts de Corrida", 8990), ("Vestido Floral Midi", 17990), ("Sandália Rasteira", 6990),
        ("Óculos de Sol Polarizado", 21990), ("Relógio Digital à Prova d'Água", 25990),
        ("Garrafa Térmica 500ml", 8990), ("Fone de Ouvido Bluetooth", 19990),
        ("Carregador Turbo USB-C", 9990), ("Capinha de Celular", 3490), ("Cafeteira Italiana", 12990),
        ("Jogo de Panelas Antiaderente", 39990), ("Toalha de Banho Algodão Egípcio", 5990),
        ("Kit Presente 🎁 Perfume + Loção", 22990), ('Livro "O Pequeno Príncipe"', 3990),
        ("Creme Hidratante 200ml", 4590), ("Protetor Solar FPS 50", 5990), ("Pijama de Flanela", 11990),
        ("Bolsa Tiracolo Couro", 27990), ("Carteira Slim", 8990), ("Luminária LED de Mesa", 13990),
        ("Travesseiro Viscoelástico", 15990), ("Ração Premium Cães 3kg", 11990),
    ),
    "es": (
        ("Camiseta Básica Blanca", 4990), ("Camiseta Azul", 4990), ("Pantalón de Mezclilla Slim", 15990),
        ("Tenis para Correr Ligeros", 29990), ('Tenis "Runner" 27 cm', 34990),
        ("Calcetines Deportivos (3 pares)", 3990), ("Gorra Visera Curva", 7990),
        ("Mochila Urbana 20L", 18990), ("Chamarra Rompevientos", 24990), ("Short para Correr", 8990),
        ("Vestido Floral Midi", 17990), ("Sandalias Planas", 6990), ("Lentes de Sol Polarizados", 21990),
        ("Reloj Digital Resistente al Agua", 25990), ("Termo de Acero 500ml", 8990),
        ("Audífonos Bluetooth", 19990), ("Cargador Rápido USB-C", 9990), ("Funda para Celular", 3490),
        ("Cafetera Italiana", 12990), ("Batería de Cocina Antiadherente", 39990),
        ("Toalla de Baño Algodón Egipcio", 5990), ("Kit de Regalo 🎁 Perfume + Loción", 22990),
        ('Libro "El Principito"', 3990), ("Crema Hidratante 200ml", 4590),
        ("Protector Solar FPS 50", 5990), ("Pijama de Franela", 11990), ("Bolsa Bandolera de Piel", 27990),
        ("Cartera Slim", 8990), ("Lámpara LED de Escritorio", 13990), ("Almohada Viscoelástica", 15990),
        ("Croquetas Premium Perro 3kg", 11990),
    ),
}

FIRST_NAMES = {
    "pt": ("Ana", "João", "Maria", "Pedro", "Luíza", "Gabriel", "Juliana", "Rafael", "Beatriz",
           "Lucas", "Fernanda", "Thiago", "Camila", "Matheus", "Letícia", "Bruno"),
    "es": ("Sofía", "Santiago", "Valentina", "Mateo", "Camila", "Diego", "Regina", "Sebastián",
           "Ximena", "Leonardo", "Fernanda", "Emiliano", "Lucía", "Andrés", "María José", "Íker"),
}

TEXT_REPLIES = {
    "pt": ("Obrigado!", "Já comprei 😊", "Como pago com Pix?", "Parar", "O frete é grátis?",
           "Não tenho interesse", "Ok"),
    "es": ("¡Gracias!", "Ya compré 😊", "¿Cómo pago con OXXO?", "Alto", "¿El envío es gratis?",
           "No me interesa", "Ok"),
}

BUTTON_TEXTS = {"pt": "Finalizar compra", "es": "Completar compra"}
BUTTON_PAYLOAD = "resume_checkout"

# Meta Cloud API error codes of failed messages: code -> title
FAILURE_TITLES = {
    131049: "This message was not delivered to maintain healthy ecosystem engagement.",
    131026: "Message undeliverable",
    131050: "User has stopped marketing messages",
    130472: "User's number is part of an experiment",
    131000: "Something went wrong",
    131047: "Re-engagement message",
}
FAILURE_DETAILS = {
    131049: "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
    131026: "Message Undeliverable.",
    131050: "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.",
    130472: "Failed to send message because this user's phone number is part of an experiment",
    131000: "Something went wrong",
    131047: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
}

USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.165 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; moto g(32)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.179 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; Redmi Note 11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.6422.147 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_8 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36",
)
USER_AGENT_WEIGHTS = (0.30, 0.25, 0.15, 0.15, 0.10, 0.05)

SHIPPING_OPTIONS = (0, 990, 1490, 1990, 2490)  # BRL cents
FREE_SHIPPING_FROM = 29900  # BRL cents of items
ORDER_STATUSES = ("payment-pending", "ready-for-handling", "invoiced", "canceled")
