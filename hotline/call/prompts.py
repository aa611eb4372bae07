"""What the hotline says by itself, per language: greeting, queue, busy, menu, and the
operators' approved quick replies. Written by people, never machine-translated."""

from __future__ import annotations

import string

__all__ = ["PROMPTS", "QUICK_REPLIES", "prompt", "quick_reply", "LANGUAGE_NAMES"]

LANGUAGE_NAMES = {
    "en": "English",
    "es": "Español",
    "ca": "Català",
    "ko": "한국어",
    "zh": "中文",
    "fr": "Français",
}

PROMPTS: dict[str, dict[str, str]] = {
    "greeting": {
        "en": "Welcome to the city hotline. Please hold for an operator.",
        "es": "Bienvenido a la línea de atención ciudadana. Por favor, espere a un operador.",
        "ca": "Benvingut a la línia d'atenció ciutadana. Si us plau, esperi un operador.",
        "ko": "시민 상담 전화에 오신 것을 환영합니다. 상담원을 기다려 주십시오.",
        "zh": "欢迎致电市民热线。请稍候，接线员马上为您服务。",
        "fr": "Bienvenue sur la ligne citoyenne. Veuillez patienter, un opérateur va vous répondre.",
    },
    "position": {
        "en": "You are number {position} in the queue.",
        "es": "Usted es el número {position} en la cola.",
        "ca": "Vostè és el número {position} a la cua.",
        "ko": "대기 순서는 {position}번입니다.",
        "zh": "您前面排在第{position}位。",
        "fr": "Vous êtes le numéro {position} dans la file d'attente.",
    },
    "connected": {
        "en": "You are now connected to an operator. Please go ahead.",
        "es": "Ya está conectado con un operador. Puede hablar.",
        "ca": "Ja està connectat amb un operador. Pot parlar.",
        "ko": "상담원과 연결되었습니다. 말씀해 주십시오.",
        "zh": "已为您接通接线员，请讲。",
        "fr": "Vous êtes en ligne avec un opérateur. Vous pouvez parler.",
    },
    "busy": {
        "en": "All our operators are busy. Your call has been recorded. Please call again later.",
        "es": "Todos nuestros operadores están ocupados. Su llamada ha quedado registrada. Llame más tarde.",
        "ca": "Tots els nostres operadors estan ocupats. La seva trucada ha quedat registrada. Truqui més tard.",
        "ko": "모든 상담원이 통화 중입니다. 통화가 기록되었습니다. 나중에 다시 전화해 주십시오.",
        "zh": "所有接线员都在忙。您的来电已记录，请稍后再拨。",
        "fr": "Tous nos opérateurs sont occupés. Votre appel a été enregistré. Veuillez rappeler plus tard.",
    },
    "menu_item": {
        "en": "For English, press {digit}.",
        "es": "Para español, pulse {digit}.",
        "ca": "Per al català, premi {digit}.",
        "ko": "한국어는 {digit}번을 누르십시오.",
        "zh": "中文请按{digit}。",
        "fr": "Pour le français, appuyez sur {digit}.",
    },
    "goodbye": {
        "en": "Thank you for calling. Goodbye.",
        "es": "Gracias por llamar. Adiós.",
        "ca": "Gràcies per trucar. Adéu.",
        "ko": "전화해 주셔서 감사합니다. 안녕히 계십시오.",
        "zh": "感谢您的来电，再见。",
        "fr": "Merci de votre appel. Au revoir.",
    },
}

QUICK_REPLIES: dict[str, dict[str, str]] = {
    "registered": {
        "en": "Your complaint has been registered, number {n}.",
        "es": "Su queja ha sido registrada con el número {n}.",
        "ca": "La seva queixa ha estat registrada amb el número {n}.",
        "ko": "민원이 접수되었습니다. 접수 번호는 {n}입니다.",
        "zh": "您的投诉已登记，编号是{n}。",
        "fr": "Votre réclamation a été enregistrée sous le numéro {n}.",
    },
    "address": {
        "en": "Could you tell me the exact address, please?",
        "es": "¿Podría decirme la dirección exacta, por favor?",
        "ca": "Em podria dir l'adreça exacta, si us plau?",
        "ko": "정확한 주소를 말씀해 주시겠습니까?",
        "zh": "请告诉我具体地址。",
        "fr": "Pourriez-vous me donner l'adresse exacte, s'il vous plaît ?",
    },
    "repeat": {
        "en": "Sorry, could you repeat that?",
        "es": "Perdone, ¿puede repetirlo?",
        "ca": "Perdoni, ho pot repetir?",
        "ko": "죄송합니다. 다시 말씀해 주시겠습니까?",
        "zh": "对不起，请您再说一遍。",
        "fr": "Pardon, pouvez-vous répéter ?",
    },
    "wait": {
        "en": "One moment, please.",
        "es": "Un momento, por favor.",
        "ca": "Un moment, si us plau.",
        "ko": "잠시만 기다려 주십시오.",
        "zh": "请稍等。",
        "fr": "Un instant, s'il vous plaît.",
    },
}


class _Keep(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fill(template: str, params: dict[str, object]) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    return template.format_map(_Keep({k: v for k, v in params.items() if k in names}))


def prompt(name: str, language: str, **params: object) -> str | None:
    """The prompt in ``language``, or None when nobody has written it in that language."""
    template = PROMPTS[name].get(language)
    return None if template is None else _fill(template, params)


def quick_reply(reply_id: str, language: str, params: dict[str, str]) -> str | None:
    template = QUICK_REPLIES.get(reply_id, {}).get(language)
    return None if template is None else _fill(template, params)
